import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import { after, before, describe, it } from "node:test";
import type { PathsConfig } from "../../components/config-schema";
import { LITESTREAM_CONFIG_PATH, litestreamConfig, REPLICA_USER, REPLICATION_KEY_PATH } from "../../components/litestream-config";
import { LITESTREAM_UNIT } from "../../components/replication-feeders";
import { renderServiceUnit, resolveServices, unitRevisions } from "../../components/service-units";
import { REPLICAS_LIST_PATH, replicasList } from "../../components/standby-host";
import { readAsset, sha256OfFile } from "../../components/templates";
import { copyTo, fileStep, hosts, LabEnv, labEnv, LabHost, ssh, sshOk, step, waitFor } from "./lab";

// The host half of the program on real systemd hosts: the same step payloads the
// program sends, run over SSH on two nspawn-booted Debian hosts. The Pulumi engine
// does not drive these tests (see the README: the command provider cannot be built
// here), so they check what the steps do to a host, not the engine's diffing.

const PATHS: PathsConfig = {
    dataRoot: "/data/wirebot",
    workspace: "/home/wirebot/clawd",
    databases: ["/data/wirebot/scoreboard/events.db"],
    tenantsDir: "/data/wirebot/scoreboard/tenants",
    replicaDir: "/var/lib/wirebot/replica",
    fileSync: [],
};
const SERVICES = resolveServices({
    gateway: { execStart: "/usr/bin/python3 /opt/wirebot-lab/gateway.py" },
    scoreboard: { execStart: "/usr/bin/python3 /opt/wirebot-lab/scoreboard.py" },
});
// cloudflared cannot be built here, so a plain unit takes the connector's place in
// the serving steps; what is checked is the step's start/stop/enable order, not the tunnel.
const CONNECTOR = "wirebot-lab-connector.service";
const CONNECTOR_UNIT = "[Unit]\nDescription=Stands in for the tunnel connector in the lab\n[Service]\nExecStart=/bin/sleep infinity\n[Install]\nWantedBy=multi-user.target\n";

function litestreamBinary(): string {
    const out = execFileSync("bash", [`${__dirname}/tools.sh`, "path"], { encoding: "utf8" }).trim();
    const dir = out.split(":").find((d) => d.includes("litestream-"));
    if (!dir) throw new Error("litestream is not built: run `bash test/lab/tools.sh install litestream`");
    return `${dir}/litestream`;
}

function installLitestream(env: LabEnv, host: LabHost): void {
    const local = litestreamBinary();
    const digest = sha256OfFile(local);
    const upload = `/var/lib/wirebot-failover/upload/litestream-${digest}`;
    sshOk(env, host, "mkdir -p /var/lib/wirebot-failover/upload");
    copyTo(env, host, local, upload);
    step(env, host, `${host}-binary-litestream`, "install-binary.sh", { NAME: "litestream", ARCH: "amd64", SHA256: digest, SOURCE: upload });
}

function prepare(env: LabEnv, host: LabHost, users: string, dirs: string): void {
    step(env, host, `${host}-prepare`, "prepare-host.sh", { USERS: users, DIRECTORIES: dirs });
}

function installServingUnits(env: LabEnv, host: LabHost): void {
    for (const unit of SERVICES.map(renderServiceUnit)) fileStep(env, host, `/etc/systemd/system/${unit.unit}`, unit.content, "0644");
    fileStep(env, host, `/etc/systemd/system/${CONNECTOR}`, CONNECTOR_UNIT, "0644");
}

function serving(env: LabEnv, host: LabHost, on: boolean, action: "create" | "delete" = "create"): string {
    return step(
        env,
        host,
        `${host}-serving`,
        "set-serving.sh",
        {
            SERVING: on ? "yes" : "no",
            SERVICES: SERVICES.map((s) => s.unit).join(" "),
            CONNECTOR,
            UNIT_REVISIONS: unitRevisions(SERVICES.map(renderServiceUnit)),
            BEFORE_SERVING: "",
        },
        action,
        ["unit-revisions.sh"],
    );
}

function unitState(env: LabEnv, host: LabHost, unit: string): string {
    const active = ssh(env, host, `systemctl is-active ${unit}`).stdout.trim();
    const enabled = ssh(env, host, `systemctl is-enabled ${unit}`).stdout.trim();
    return `${active}/${enabled}`;
}

async function postEvent(env: LabEnv, host: LabHost, id: string, tenant?: string): Promise<boolean> {
    const response = await fetch(`http://${env.address[host]}:8100/v1/events`, {
        method: "POST",
        headers: { "content-type": "application/json", ...(tenant ? { "x-tenant": tenant } : {}) },
        body: JSON.stringify({ id, kind: "ship", payload: { n: id } }),
        signal: AbortSignal.timeout(2000),
    });
    return response.ok;
}

/** Restores a replica on the standby into a scratch file and returns the ids it holds. */
function restoredIds(env: LabEnv, replica: string): string[] | undefined {
    const r = ssh(
        env,
        "standby",
        `t=$(mktemp -u /tmp/restore.XXXXXX.db); litestream restore -o "$t" "file://${replica}" >/dev/null 2>&1 && sqlite3 "$t" 'select id from events' ; rm -f "$t" "$t"-*`,
    );
    return r.status === 0 ? r.stdout.trim().split("\n").filter(Boolean) : undefined;
}

describe("host steps on real systemd hosts", { timeout: 20 * 60_000 }, () => {
    let env: LabEnv;

    before(() => {
        hosts("up");
        env = labEnv();
    });
    after(() => {
        if (!process.env.WIREBOT_LAB_KEEP) hosts("down");
    });

    it("serve on the active side only, and stay off after a reboot until told", async () => {
        prepare(env, "standby", "wirebot", "/data/wirebot:wirebot:0750 /data/wirebot/scoreboard:wirebot:0750");
        installServingUnits(env, "standby");

        serving(env, "standby", true);
        for (const unit of [...SERVICES.map((s) => s.unit), CONNECTOR]) assert.equal(unitState(env, "standby", unit), "active/enabled", unit);
        const health = await waitFor("the scoreboard stand-in on the standby", () => {
            const r = ssh(env, "standby", "curl -sf http://127.0.0.1:8100/health");
            return r.status === 0 ? (JSON.parse(r.stdout) as { host: string }) : undefined;
        }, 10_000, 200);
        assert.equal(health.host, "wb-standby");

        serving(env, "standby", false);
        for (const unit of [...SERVICES.map((s) => s.unit), CONNECTOR]) assert.equal(unitState(env, "standby", unit), "inactive/disabled", unit);

        hosts("poweroff", "standby");
        hosts("poweron", "standby");
        assert.equal(unitState(env, "standby", CONNECTOR), "inactive/disabled", "a host that lost the active role does not reconnect on boot");
        assert.equal(unitState(env, "standby", "wirebot-scoreboard.service"), "inactive/disabled");
    });

    it("undo the serving step back to the units' prior state", () => {
        serving(env, "standby", false, "delete");
        assert.equal(unitState(env, "standby", CONNECTOR), "inactive/disabled");
        assert.equal(ssh(env, "standby", "test -e /var/lib/wirebot-failover/prior-state").status, 1, "its bookkeeping is gone");
    });

    it("replicate the primary's databases into the standby's replica directory, tenants included, within seconds", async () => {
        prepare(env, "primary", "wirebot", "/data/wirebot:wirebot:0750 /data/wirebot/scoreboard:wirebot:0750 /data/wirebot/scoreboard/tenants:wirebot:0750 /etc/wirebot:root:0750");
        prepare(env, "standby", `wirebot ${REPLICA_USER}`, `/var/lib/wirebot:root:0755 ${PATHS.replicaDir}:${REPLICA_USER}:0700 /etc/wirebot:root:0750`);
        installLitestream(env, "primary");
        installLitestream(env, "standby");
        installServingUnits(env, "primary");
        serving(env, "primary", true);

        const publicKey = step(env, "primary", "primary-replication-key", "replication-key.sh", { KEY_PATH: REPLICATION_KEY_PATH }).trim().split("\n").pop()!;
        assert.match(publicKey, /^ssh-ed25519 /);
        step(env, "standby", "standby-replica-access", "replica-access.sh", { REPLICA_USER, PUBLIC_KEY: publicKey });

        const config = litestreamConfig(PATHS, { host: env.address.standby, port: 22, hostKey: env.hostKey.standby }, "1s");
        fileStep(env, "primary", LITESTREAM_CONFIG_PATH, config, "0640");
        const unit = readAsset(`systemd/${LITESTREAM_UNIT}`);
        fileStep(env, "primary", `/etc/systemd/system/${LITESTREAM_UNIT}`, unit, "0644");
        step(env, "primary", "primary-feeders", "set-units.sh", { RUN: "yes", UNITS: LITESTREAM_UNIT, UNIT_REVISIONS: unitRevisions([{ unit: LITESTREAM_UNIT, content: unit + config }]) }, "create", ["unit-revisions.sh"]);
        assert.equal(unitState(env, "primary", LITESTREAM_UNIT), "active/enabled");

        await waitFor("the scoreboard stand-in on the primary", () => (ssh(env, "primary", "curl -sf http://127.0.0.1:8100/health").status === 0 ? true : undefined), 10_000, 200);
        const replica = `${PATHS.replicaDir}/scoreboard/events.db`;
        const latencies: number[] = [];
        for (let i = 0; i < 5; i++) {
            const id = `lab-event-${i}-${Date.now()}`;
            assert.ok(await postEvent(env, "primary", id));
            const written = Date.now();
            await waitFor(`event ${id} to be restorable on the standby`, () => (restoredIds(env, replica)?.includes(id) ? true : undefined), 15_000, 100);
            latencies.push(Date.now() - written);
        }
        latencies.sort((a, b) => a - b);
        console.log(`replication: write on the primary to restorable on the standby: median ${latencies[2]} ms, max ${latencies[4]} ms`);
        assert.ok(latencies[2] <= 2000, `median ${latencies[2]} ms is over the 2 s target`);

        assert.ok(await postEvent(env, "primary", "tenant-event-1", "acme"));
        const tenantReplica = `${PATHS.replicaDir}/scoreboard/tenants/acme/events.db`;
        await waitFor("the new tenant database in the replica, without a redeploy", () => (restoredIds(env, tenantReplica)?.includes("tenant-event-1") ? true : undefined), 20_000, 250);
    });

    it("admit the replication key for SFTP only", () => {
        const knownHosts = `printf '%s %s\\n' ${env.address.standby} '${env.hostKey.standby}' > /tmp/standby.known`;
        const shell = ssh(env, "primary", `${knownHosts}; ssh -i ${REPLICATION_KEY_PATH} -o BatchMode=yes -o UserKnownHostsFile=/tmp/standby.known ${REPLICA_USER}@${env.address.standby} id`);
        assert.doesNotMatch(shell.stdout, /uid=/, "no shell for the replication key");
        const owner = sshOk(env, "standby", `stat -c '%U %a' ${PATHS.replicaDir}`).trim();
        assert.equal(owner, `${REPLICA_USER} 700`);
    });

    it("restore every database from the replicas into the live paths, moving the old file aside", () => {
        fileStep(env, "standby", "/usr/local/sbin/wirebot-restore", readAsset("host/wirebot-restore"), "0755");
        fileStep(env, "standby", REPLICAS_LIST_PATH, replicasList(PATHS), "0644");
        sshOk(env, "standby", "mkdir -p /data/wirebot/scoreboard && sqlite3 /data/wirebot/scoreboard/events.db 'create table stale(x)'");
        const primaryIds = sshOk(env, "primary", "sqlite3 /data/wirebot/scoreboard/events.db 'select id from events order by id'").trim();
        const out = sshOk(env, "standby", "/usr/local/sbin/wirebot-restore");
        assert.match(out, /restored \/data\/wirebot\/scoreboard\/events.db from \/var\/lib\/wirebot\/replica\/scoreboard\/events.db/);
        assert.match(out, /restored \/data\/wirebot\/scoreboard\/tenants\/acme\/events.db/);
        const restored = sshOk(env, "standby", "sqlite3 /data/wirebot/scoreboard/events.db 'select id from events order by id'").trim();
        assert.equal(restored, primaryIds, "every event the primary acknowledged");
        assert.match(sshOk(env, "standby", "ls /data/wirebot/scoreboard"), /events\.db\.pre-restore-/);
        assert.equal(sshOk(env, "standby", "sqlite3 /data/wirebot/scoreboard/tenants/acme/events.db 'select id from events'").trim(), "tenant-event-1");
    });

    it("leave no secret readable by others", () => {
        const modes = sshOk(env, "primary", `stat -c '%a %U' ${REPLICATION_KEY_PATH}`).trim();
        assert.equal(modes, "600 root");
    });
});
