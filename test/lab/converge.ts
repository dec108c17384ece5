import { execFileSync } from "node:child_process";
import type { AgentConfig } from "../../assets/agent/src/config";
import { buildAgentBundle } from "../../assets/agent/build";
import type { PathsConfig } from "../../components/config-schema";
import { DEFAULT_DRILL_SCHEDULE } from "../../components/config-schema";
import {
    FILE_SYNC_ENV_PATH,
    FILE_SYNC_KEY_PATH,
    FILE_SYNC_LIST_PATH,
    FILE_SYNC_SERVICE,
    FILE_SYNC_TIMER,
    fileSyncEnv,
    fileSyncList,
    fileSyncPaths,
    knownHostsLine,
    LETTA_DUMP_ENV,
    LETTA_DUMP_ENV_PATH,
    LETTA_DUMP_SERVICE,
    LETTA_DUMP_TIMER,
    STANDBY_KNOWN_HOSTS_PATH,
    SYNC_DIR,
    SYNC_OUTBOX_DIR,
    SYNC_STAGING_DIR,
    SYNC_USER,
    TAKEOVER_COMMANDS,
} from "../../components/file-sync";
import { drillProbes, FIRE_DRILL_SERVICE, FIRE_DRILL_TIMER } from "../../components/fire-drill";
import { agentRestartContent, FLIP_COMMAND, HEARTBEAT_TOKEN_PATH } from "../../components/host-agent";
import { LITESTREAM_CONFIG_PATH, litestreamConfig, REPLICA_USER, REPLICATION_KEY_PATH, replicaPathOf, replicatedDatabases } from "../../components/litestream-config";
import { LITESTREAM_UNIT } from "../../components/replication-feeders";
import { CONNECTOR_UNIT, connectorUnit, renderServiceUnit, resolveServices, unitRevisions } from "../../components/service-units";
import { REPLICAS_LIST_PATH, replicasList } from "../../components/standby-host";
import { readAsset, renderTemplate, sha256OfFile } from "../../components/templates";
import { copyTo, fileStep, LabEnv, LabHost, Result, sshOk, step, stepAsync } from "./lab";

// Converges the lab hosts with the program's own host steps, in the order the
// stacks apply them. The Pulumi engine cannot drive them here (no command
// provider can be built), so this sequence stands where `pulumi up` would.

export const PATHS: PathsConfig = {
    dataRoot: "/data/wirebot",
    workspace: "/home/wirebot/clawd",
    databases: ["/data/wirebot/scoreboard/events.db"],
    tenantsDir: "/data/wirebot/scoreboard/tenants",
    replicaDir: "/var/lib/wirebot/replica",
    fileSync: ["/data/wirebot/users/lab", "/home/wirebot/clawd"],
    binaries: "/data/wirebot/bin",
};
export const SYNCED_PATHS = fileSyncPaths(PATHS, "amd64", "amd64");

export const SERVICES = resolveServices({
    gateway: { execStart: "/usr/bin/python3 /opt/wirebot-lab/gateway.py" },
    scoreboard: { execStart: "/usr/bin/python3 /opt/wirebot-lab/scoreboard.py" },
});
export const SERVICE_UNITS = SERVICES.map((s) => s.unit);
export const CONNECTOR = CONNECTOR_UNIT;
export const HEARTBEAT_TOKEN = "lab-heartbeat-token-".padEnd(48, "x");

/**
 * cloudflared cannot be built here: the lab's connector is the product's unit
 * with only its ExecStart swapped for a process that holds no tunnel. Its guard
 * (ExecStartPre may-serve), ordering and enablement are the product's.
 */
export function labConnectorUnit(): string {
    return connectorUnit().content.replace(/^ExecStart=.*$/m, "ExecStart=/bin/sleep infinity");
}

export function prepare(env: LabEnv, host: LabHost): void {
    const dirs = [
        `${PATHS.dataRoot}:wirebot:0750`,
        `${PATHS.dataRoot}/scoreboard:wirebot:0750`,
        `${PATHS.tenantsDir}:wirebot:0750`,
        "/etc/wirebot:root:0750",
        ...(host === "standby" ? ["/var/lib/wirebot:root:0755", `${PATHS.replicaDir}:${REPLICA_USER}:0700`] : []),
    ];
    const users = host === "standby" ? `wirebot ${REPLICA_USER}` : "wirebot";
    step(env, host, `${host}-prepare`, "prepare-host.sh", { USERS: users, DIRECTORIES: dirs.join(" ") });
}

export function litestreamBinary(): string {
    const out = execFileSync("bash", [`${__dirname}/tools.sh`, "path"], { encoding: "utf8" }).trim();
    const dir = out.split(":").find((d) => d.includes("litestream-"));
    if (!dir) throw new Error("litestream is not built: run `bash test/lab/tools.sh install litestream`");
    return `${dir}/litestream`;
}

export function installLitestream(env: LabEnv, host: LabHost): void {
    const local = litestreamBinary();
    const digest = sha256OfFile(local);
    const upload = `/var/lib/wirebot-failover/upload/litestream-${digest}`;
    sshOk(env, host, "mkdir -p /var/lib/wirebot-failover/upload");
    copyTo(env, host, local, upload);
    step(env, host, `${host}-binary-litestream`, "install-binary.sh", { NAME: "litestream", ARCH: "amd64", SHA256: digest, SOURCE: upload });
}

export function installServingUnits(env: LabEnv, host: LabHost): void {
    for (const unit of SERVICES.map(renderServiceUnit)) fileStep(env, host, `/etc/systemd/system/${unit.unit}`, unit.content, "0644");
    fileStep(env, host, `/etc/systemd/system/${CONNECTOR}`, labConnectorUnit(), "0644");
}

function servingInputs(host: LabHost, on: boolean): Record<string, string> {
    return {
        SERVING: on ? "yes" : "no",
        SERVICES: SERVICE_UNITS.join(" "),
        CONNECTOR,
        UNIT_REVISIONS: unitRevisions([...SERVICES.map(renderServiceUnit), { unit: CONNECTOR, content: labConnectorUnit() }]),
        BEFORE_SERVING: host === "standby" ? TAKEOVER_COMMANDS.join(" ") : "",
        FLIP_COMMAND,
    };
}

export function serving(env: LabEnv, host: LabHost, on: boolean, action: "create" | "delete" = "create"): string {
    return step(env, host, `${host}-serving`, "set-serving.sh", servingInputs(host, on), action, ["unit-revisions.sh"]);
}

/**
 * A config flip as `pulumi up -s <host's stack>` applies it: the host's serving
 * step with the new active side, run without blocking so the load and the
 * sampler go on. A refusal comes back as a non-zero status with its message.
 */
export function flipServing(env: LabEnv, host: LabHost, on: boolean): Promise<Result> {
    return stepAsync(env, host, `${host}-serving`, "set-serving.sh", servingInputs(host, on), ["unit-revisions.sh"]);
}

/** What the standby runs before it serves: wirebot-place-files, wirebot-restore and its list of replicas. */
export function restoreTooling(env: LabEnv): void {
    fileStep(env, "standby", "/usr/local/sbin/wirebot-place-files", readAsset("host/wirebot-place-files"), "0755");
    fileStep(env, "standby", "/usr/local/sbin/wirebot-restore", readAsset("host/wirebot-restore"), "0755");
    fileStep(env, "standby", REPLICAS_LIST_PATH, replicasList(PATHS), "0644");
}

/** Replication key, SFTP access on the standby, restore tooling, then Litestream running on the primary. */
export function replication(env: LabEnv): void {
    const publicKey = step(env, "primary", "primary-replication-key", "replication-key.sh", { KEY_PATH: REPLICATION_KEY_PATH }).trim().split("\n").pop()!;
    step(env, "standby", "standby-replica-access", "replica-access.sh", { REPLICA_USER, PUBLIC_KEY: publicKey });
    restoreTooling(env);
    const config = litestreamConfig(PATHS, { host: env.address.standby, port: 22, hostKey: env.hostKey.standby }, "1s");
    fileStep(env, "primary", LITESTREAM_CONFIG_PATH, config, "0640");
    const unit = readAsset(`systemd/${LITESTREAM_UNIT}`);
    fileStep(env, "primary", `/etc/systemd/system/${LITESTREAM_UNIT}`, unit, "0644");
    step(env, "primary", "primary-feeders", "set-units.sh", { RUN: "yes", UNITS: LITESTREAM_UNIT, UNIT_REVISIONS: unitRevisions([{ unit: LITESTREAM_UNIT, content: unit + config }]) }, "create", ["unit-revisions.sh"]);
}

export function agentConfig(env: LabEnv, host: LabHost, witnessUrl: string | null): AgentConfig {
    const peer: LabHost = host === "primary" ? "standby" : "primary";
    return {
        role: host,
        listen: { address: host === "primary" ? "127.0.0.1" : "0.0.0.0", port: 8300 },
        peer: { address: env.address[peer], port: 8300 },
        heartbeatIntervalSeconds: 10,
        missThreshold: 3,
        autoActivate: true,
        witnessUrl,
        tokenFile: HEARTBEAT_TOKEN_PATH,
        alertWebhookUrlFile: null,
        stateDir: "/var/lib/wirebot-failover",
        units: { services: SERVICE_UNITS, connector: CONNECTOR },
        databases: replicatedDatabases(PATHS).map((db) => ({ path: db.live, replica: db.replica })),
        tenantsDir: PATHS.tenantsDir,
        replicaDir: PATHS.replicaDir,
        tenantsReplicaDir: replicaPathOf(PATHS, PATHS.tenantsDir),
        fileSync: { paths: SYNCED_PATHS, debounceSeconds: 5, stagingDir: SYNC_STAGING_DIR, outboxDir: SYNC_OUTBOX_DIR },
        probes: drillProbes(SERVICES, {
            schedule: DEFAULT_DRILL_SCHEDULE,
            chat: { path: "/v1/chat/completions", model: "openclaw" },
            event: { path: "/v1/events", database: "/data/wirebot/scoreboard/events.db", table: "events", idColumn: "id" },
        }),
    };
}

/**
 * File sync as the standby stack sets it up: the primary's key, the standby's
 * rrsync-confined user, the scripts, and the primary's unit and timer running.
 */
export function fileSync(env: LabEnv): void {
    const publicKey = step(env, "primary", "primary-file-sync-key", "replication-key.sh", { KEY_PATH: FILE_SYNC_KEY_PATH, KEY_COMMENT: "wirebot-file-sync" }).trim().split("\n").pop()!;
    step(env, "standby", "standby-sync-access", "sync-access.sh", { SYNC_USER, SYNC_DIR, PUBLIC_KEY: publicKey });
    fileStep(env, "standby", "/usr/local/sbin/wirebot-place-files", readAsset("host/wirebot-place-files"), "0755");
    fileStep(env, "standby", FILE_SYNC_LIST_PATH, fileSyncList(SYNCED_PATHS), "0644");
    const target = { host: env.address.standby, port: 22, hostKey: env.hostKey.standby };
    fileStep(env, "primary", "/usr/local/sbin/wirebot-file-sync", readAsset("host/wirebot-file-sync"), "0755");
    fileStep(env, "primary", "/usr/local/sbin/wirebot-merge", readAsset("host/wirebot-merge"), "0755");
    fileStep(env, "primary", FILE_SYNC_LIST_PATH, fileSyncList(SYNCED_PATHS), "0644");
    fileStep(env, "primary", FILE_SYNC_ENV_PATH, fileSyncEnv(target), "0644");
    fileStep(env, "primary", STANDBY_KNOWN_HOSTS_PATH, knownHostsLine(target), "0644");
    fileStep(env, "primary", "/usr/local/sbin/wirebot-letta-dump", readAsset("host/wirebot-letta-dump"), "0755");
    fileStep(env, "primary", LETTA_DUMP_ENV_PATH, LETTA_DUMP_ENV, "0644");
    const units = [FILE_SYNC_SERVICE, FILE_SYNC_TIMER, LETTA_DUMP_SERVICE, LETTA_DUMP_TIMER].map((unit) => ({ unit, content: readAsset(`systemd/${unit}`) }));
    const drill = [
        { unit: FIRE_DRILL_SERVICE, content: renderTemplate(`systemd/${FIRE_DRILL_SERVICE}`, { nodePath: "/usr/bin/node" }) },
        { unit: FIRE_DRILL_TIMER, content: renderTemplate(`systemd/${FIRE_DRILL_TIMER}`, { schedule: DEFAULT_DRILL_SCHEDULE }) },
    ];
    for (const unit of [...units, ...drill]) fileStep(env, "primary", `/etc/systemd/system/${unit.unit}`, unit.content, "0644");
    step(env, "primary", "primary-feeders-file-sync", "set-units.sh", { RUN: "yes", UNITS: `${FILE_SYNC_TIMER} ${LETTA_DUMP_TIMER} ${FIRE_DRILL_TIMER}`, UNIT_REVISIONS: unitRevisions([...units, ...drill]) }, "create", ["unit-revisions.sh"]);
}

/** The agent, its config and token, and its unit, started: the replicator on the primary, the watchdog on the standby. */
export function installAgent(env: LabEnv, host: LabHost, config: AgentConfig): void {
    const unitName = host === "primary" ? "wirebot-replicator.service" : "wirebot-watchdog.service";
    const unit = renderTemplate(`systemd/${unitName}`, { nodePath: "/usr/bin/node" });
    const bundle = buildAgentBundle();
    const configJson = JSON.stringify(config, null, 2) + "\n";
    fileStep(env, host, "/usr/local/lib/wirebot-failover/wirebot-agent.js", bundle, "0755");
    fileStep(env, host, "/usr/local/bin/wirebot-failover", renderTemplate("host/wirebot-failover", { nodePath: "/usr/bin/node" }), "0755");
    fileStep(env, host, "/etc/wirebot/agent.json", configJson, "0640");
    fileStep(env, host, HEARTBEAT_TOKEN_PATH, HEARTBEAT_TOKEN, "0600");
    fileStep(env, host, `/etc/systemd/system/${unitName}`, unit, "0644");
    step(env, host, `${host}-${host === "primary" ? "feeders-agent" : "watchdog"}`, "set-units.sh", { RUN: "yes", UNITS: unitName, UNIT_REVISIONS: unitRevisions([{ unit: unitName, content: agentRestartContent(unit, bundle, configJson) }]) }, "create", ["unit-revisions.sh"]);
}
