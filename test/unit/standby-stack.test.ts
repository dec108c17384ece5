import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { ADMIN_PUBLIC_KEY, amd64Binary, arm64Binary, existingStandbyOptions, PRIMARY_OUTPUTS, standbyOptions, STANDBY_HOST_KEY } from "./fixtures";
import { fileSyncPaths } from "../../src/render/file-sync";
import { nextCommand } from "../../src/stacks/standby";
import { readAsset } from "../../src/render/templates";
import { configErrorOf, FILE_SYNC_PUBLIC_KEY, fileContent, RecordedResource, reloadedWithNftables, REPLICATION_PUBLIC_KEY, runProgram } from "./harness";

const hetznerStandby = (extra: Record<string, unknown>) => ({ provider: "hetzner", hetzner: { sshPublicKey: ADMIN_PUBLIC_KEY, ...extra } });

/** A CAX11 in an EU location, with the arm64 binaries it needs. */
function euStandby(extra: Record<string, unknown>) {
    return standbyOptions({
        standby: hetznerStandby({ serverType: "cax11", ...extra }),
        binaries: {
            litestream: { amd64: { path: amd64Binary }, arm64: { path: arm64Binary } },
            cloudflared: { arm64: { url: "https://example.com/cloudflared-linux-arm64", sha256: "a".repeat(64) } },
        },
    });
}

describe("standby stack on Hetzner", () => {
    it("declares the server, SSH key and firewall, defaulting to a CPX11 in Ashburn that Hetzner offers there", async () => {
        const run = await runProgram(standbyOptions());
        const server = run.ofType("hcloud:index/server:Server");
        assert.equal(server.length, 1);
        assert.equal(server[0].inputs.serverType, "cpx11");
        assert.equal(server[0].inputs.location, "ash");
        assert.equal(server[0].inputs.firewallIds.length, 1);
        assert.equal(run.ofType("hcloud:index/sshKey:SshKey").length, 1);
        assert.deepEqual(server[0].secretInputs, ["userData"], "cloud-init carries the host's private key");
        assert.match(server[0].inputs.userData, /^#cloud-config\n/);
        const cloudInit = JSON.parse(server[0].inputs.userData.replace(/^#cloud-config\n/, ""));
        assert.match(cloudInit.ssh_keys.ed25519_private, /BEGIN OPENSSH PRIVATE KEY/);
        assert.deepEqual(cloudInit.ssh_genkeytypes, ["ed25519"]);
        assert.ok(cloudInit.packages.includes("openssh-sftp-server"));
        assert.ok(cloudInit.users.some((u: { name?: string }) => u.name === "wirebot"));
    });

    it("admits only SSH from the primary and admins, and the agents' WireGuard link from the primary: the agents' port from nobody", async () => {
        const run = await runProgram(standbyOptions());
        const [firewall] = run.ofType("hcloud:index/firewall:Firewall");
        assert.deepEqual(firewall.inputs.rules, [
            { direction: "in", protocol: "tcp", port: "22", sourceIps: ["203.0.113.10/32", "192.0.2.44/32"], description: "SSH from the primary and admins" },
            { direction: "in", protocol: "udp", port: "51830", sourceIps: ["203.0.113.10/32"], description: "the agents' WireGuard link from the primary" },
        ]);
        const tcpPorts = (firewall.inputs.rules as { protocol: string; port: string }[]).filter((r) => r.protocol === "tcp").map((r) => r.port);
        assert.deepEqual(tcpPorts, ["22"], "no TCP rule for the agents' port");
        // The link's own port and sources, when configured.
        const moved = await runProgram(standbyOptions({ link: { port: 51999, primaryCidrs: ["203.0.113.0/28"] } }));
        assert.deepEqual(moved.ofType("hcloud:index/firewall:Firewall")[0].inputs.rules[1], {
            direction: "in",
            protocol: "udp",
            port: "51999",
            sourceIps: ["203.0.113.0/28"],
            description: "the agents' WireGuard link from the primary",
        });
    });

    it("pins the standby's host key from the key it generated for cloud-init", async () => {
        const run = await runProgram(standbyOptions());
        const [server] = run.ofType("hcloud:index/server:Server");
        const cloudInit = JSON.parse(server.inputs.userData.replace(/^#cloud-config\n/, ""));
        const pinned = run.byName("standby-serving").inputs.connection.hostKey;
        assert.equal(pinned, cloudInit.ssh_keys.ed25519_public.split(" ").slice(0, 2).join(" "));
        assert.equal(run.outputs.standbyHostKey, pinned);
    });

    it("keeps the host key it hands cloud-init from every process but root's: the metadata service is root's from first boot, and a step keeps it so", async () => {
        const run = await runProgram(standbyOptions());
        const [server] = run.ofType("hcloud:index/server:Server");
        const cloudInit = JSON.parse(server.inputs.userData.replace(/^#cloud-config\n/, "")) as {
            packages: string[];
            write_files: { path: string; permissions: string; owner: string; content: string }[];
            runcmd: string[][];
        };
        const rules = readAsset("cloud-init/metadata-guard.nft");
        const unit = readAsset("systemd/wirebot-metadata-guard.service");
        // The rules: a root-owned socket may ask 169.254.169.254, no other may, and nothing forwarded (a container) reaches it.
        const chain = (hook: string) => new RegExp(`chain \\w+ \\{\\n\\s*type filter hook ${hook} priority filter; policy accept;\\n\\s*([^\\n]*)\\n\\s*\\}`).exec(rules)?.[1];
        assert.equal(chain("output"), "ip daddr 169.254.169.254 meta skuid != 0 counter reject with icmpx type admin-prohibited");
        assert.equal(chain("forward"), "ip daddr 169.254.169.254 counter drop");
        assert.match(rules, /^table inet wirebot_metadata_guard\ndelete table inet wirebot_metadata_guard\n/m, "loading it again replaces it");
        // Loaded at every boot before the network is up, after nftables.service (whose ruleset may flush everything).
        assert.match(unit, /^ExecStart=\/usr\/sbin\/nft -f \/etc\/wirebot-metadata-guard\.nft$/m);
        assert.match(unit, /^Before=network-pre\.target /m);
        assert.match(unit, /^After=nftables\.service$/m);
        assert.match(unit, reloadedWithNftables("/etc/wirebot-metadata-guard.nft"));
        assert.match(unit, /^WantedBy=sysinit\.target$/m);

        // cloud-init: nftables installed, both files written, the guard enabled and started before anything else runs.
        assert.ok(cloudInit.packages.includes("nftables"));
        const written = (p: string) => cloudInit.write_files.find((f) => f.path === p);
        assert.deepEqual(written("/etc/wirebot-metadata-guard.nft"), { path: "/etc/wirebot-metadata-guard.nft", permissions: "0644", owner: "root:root", content: rules });
        assert.deepEqual(written("/etc/systemd/system/wirebot-metadata-guard.service"), {
            path: "/etc/systemd/system/wirebot-metadata-guard.service",
            permissions: "0644",
            owner: "root:root",
            content: unit,
        });
        assert.deepEqual(cloudInit.runcmd.slice(0, 2), [
            ["systemctl", "daemon-reload"],
            ["systemctl", "enable", "--now", "wirebot-metadata-guard.service"],
        ]);

        // The same files and unit as steps of the standby's setup (a server made before cloud-init did this), before the standby may serve.
        assert.equal(fileContent(run, "standby-file-etc-wirebot-metadata-guard.nft"), rules);
        assert.equal(fileContent(run, "standby-file-etc-systemd-system-wirebot-metadata-guard.service"), unit);
        const guard = run.byName("standby-metadata-guard");
        assert.match(guard.inputs.stdin, /^UNITS='wirebot-metadata-guard\.service'$/m);
        assert.ok(deletedAfter(run, "standby-serving").has("command:remote:Command::standby-metadata-guard"), "the standby serves only once the guard runs");
    });

    it("runs the default standby on amd64 like the primary, so the binaries are synced too", async () => {
        const run = await runProgram(standbyOptions());
        assert.equal(run.outputs.standbyArch, "amd64");
        assert.match(fileContent(run, "primary-file-etc-wirebot-file-sync.list"), /^\/data\/wirebot\/bin$/m);
    });

    it("refuses an ARM type in Ashburn at preview, naming the EU locations that offer it and the types Ashburn offers, and creates it in the EU", async () => {
        await assert.rejects(runProgram(euStandby({ location: "ash" })), (err: Error) => {
            assert.match(err.message, /wirebot:standby\.hetzner\.serverType: bad value "cax11": not offered at location ash; /);
            assert.match(err.message, /cax11 is offered at: fsn1, hel1, nbg1; ash offers: cpx11, cpx21\. /);
            assert.match(err.message, /Fix with: pulumi config set --path wirebot:standby\.hetzner\.serverType <one ash offers>, or pulumi config set --path wirebot:standby\.hetzner\.location <one where cax11 is offered>$/m);
            return true;
        });
        const run = await runProgram(euStandby({ location: "fsn1" }));
        assert.equal(run.ofType("hcloud:index/server:Server")[0].inputs.location, "fsn1");
        assert.equal(run.outputs.standbyArch, "arm64");
        assert.doesNotMatch(fileContent(run, "primary-file-etc-wirebot-file-sync.list"), /^\/data\/wirebot\/bin$/m, "amd64 binaries are not synced to an arm64 standby");
    });

    it("refuses a type Hetzner has deprecated at the location", async () => {
        await assert.rejects(runProgram(standbyOptions({ standby: hetznerStandby({ serverType: "cpx11", location: "fsn1" }) })), (err: Error) => {
            assert.match(err.message, /wirebot:standby\.hetzner\.serverType: bad value "cpx11": deprecated at location fsn1, so Hetzner is retiring it there; /);
            assert.match(err.message, /cpx11 is offered at: ash, hil; fsn1 offers: cax11, cax21, cpx22, cx23, cx33\. Fix with: /);
            return true;
        });
    });

    it("refuses a retired type, naming the types the location offers", async () => {
        await assert.rejects(runProgram(standbyOptions({ standby: hetznerStandby({ serverType: "cx22", location: "nbg1" }) })), (err: Error) => {
            assert.match(err.message, /wirebot:standby\.hetzner\.serverType: bad value "cx22": Hetzner has no such server type; types at nbg1: cax11, cax21, cpx22, cx23, cx33\. /);
            assert.match(err.message, /Fix with: pulumi config set --path wirebot:standby\.hetzner\.serverType <one nbg1 offers>$/m);
            return true;
        });
    });
});

describe("standby stack on an existing host", () => {
    it("needs no cloud provider, only SSH", async () => {
        const run = await runProgram(existingStandbyOptions());
        const providers = new Set(run.resources.map((r) => r.type.split(":")[0]));
        assert.deepEqual([...providers].filter((p) => !["pulumi", "wirebot"].includes(p)), ["command"]);
        assert.ok(!run.resources.some((r) => r.name.includes("metadata-guard")), "no cloud metadata service holds its host key");
    });

    it("installs the standby's units and connector stopped while the primary is active", async () => {
        const run = await runProgram(existingStandbyOptions());
        const serving = run.byName("standby-serving");
        assert.match(serving.inputs.stdin, /^SERVING='no'$/m);
        assert.equal(serving.inputs.connection.host, "10.77.0.11");
        for (const unit of ["openclaw-gateway.service", "wirebot-scoreboard.service", "cloudflared-wirebot.service"]) {
            run.byName(`standby-file-etc-systemd-system-${unit}`);
        }
        const credentials = run.byName("standby-file-etc-cloudflared-wirebot-credentials.json");
        assert.ok(credentials.secretInputs.includes("stdin"), "the tunnel credentials read from the primary stack stay secret");
    });

    it("runs Litestream on the primary into the replica directory on the standby, never the live path", async () => {
        const run = await runProgram(existingStandbyOptions());
        const file = run.byName("primary-file-etc-wirebot-litestream.yml");
        const content = Buffer.from(/^CONTENT_B64='([^']*)'$/m.exec(file.inputs.stdin)![1], "base64").toString();
        const config = JSON.parse(content.slice(content.indexOf("{")));
        const replicas = config.dbs.map((db: { replica: { path: string } }) => db.replica.path);
        assert.deepEqual(replicas, [
            "/var/lib/wirebot/replica/users/verious/memory/verious.sqlite",
            "/var/lib/wirebot/replica/scoreboard/events.db",
            "/var/lib/wirebot/replica/mem0/history.db",
            "/var/lib/wirebot/replica/scoreboard/tenants",
        ]);
        for (const db of config.dbs) {
            assert.equal(db.replica.type, "sftp");
            assert.equal(db.replica.host, "10.77.0.11:22");
            assert.equal(db.replica.user, "wirebot-replica");
            assert.equal(db.replica["host-key"], STANDBY_HOST_KEY);
            assert.equal(db.replica["key-path"], "/etc/wirebot/replication_ed25519");
            assert.equal(db.replica["sync-interval"], "1s");
        }
        assert.deepEqual(config.socket, { enabled: true, path: "/run/wirebot-litestream/litestream.sock", permissions: 0o600 }, "the control socket, root only, for the handover's final sync");
        const watch = config.dbs.at(-1);
        assert.deepEqual(
            { dir: watch.dir, pattern: watch.pattern, recursive: watch.recursive, watch: watch.watch },
            { dir: "/data/wirebot/scoreboard/tenants", pattern: "events.db", recursive: true, watch: true },
        );
        const feeders = run.byName("primary-feeders");
        assert.match(feeders.inputs.stdin, /systemctl enable --now \$UNITS/);
        assert.match(feeders.inputs.stdin, /^UNITS='wirebot-litestream.service wirebot-file-sync.timer wirebot-letta-dump.timer wirebot-fire-drill.timer wirebot-replicator.service'$/m);
    });

    it("syncs the hub's files over a key confined to rrsync, pinned to the standby's host key", async () => {
        const run = await runProgram(existingStandbyOptions());
        const access = run.byName("standby-sync-access");
        assert.match(access.inputs.stdin, new RegExp(`^PUBLIC_KEY='${FILE_SYNC_PUBLIC_KEY}'$`, "m"));
        assert.match(access.inputs.stdin, /command="%s %s",restrict/);
        assert.match(access.inputs.stdin, /^SYNC_DIR='\/var\/lib\/wirebot\/sync'$/m);
        const env = fileContent(run, "primary-file-etc-wirebot-file-sync.env");
        assert.match(env, /^STANDBY_HOST=10\.77\.0\.11$/m);
        assert.match(env, /^SYNC_KEY=\/etc\/wirebot\/filesync_ed25519$/m);
        assert.equal(fileContent(run, "primary-file-etc-wirebot-standby-known-hosts"), `10.77.0.11 ${STANDBY_HOST_KEY.split(" ").slice(0, 2).join(" ")}\n`);
        // Both fixture hosts are amd64, so the binaries go too.
        const list = fileContent(run, "primary-file-etc-wirebot-file-sync.list").split("\n").filter((l) => l.startsWith("/"));
        assert.deepEqual(list, ["/data/wirebot/users/verious", "/home/wirebot/clawd", "/data/wirebot/bin"]);
        assert.equal(fileContent(run, "standby-file-etc-wirebot-file-sync.list"), fileContent(run, "primary-file-etc-wirebot-file-sync.list"));
        const agent = JSON.parse(fileContent(run, "standby-file-etc-wirebot-agent.json"));
        assert.deepEqual(agent.fileSync, { paths: list, debounceSeconds: 5, stagingDir: "/var/lib/wirebot/sync/files", outboxDir: "/var/lib/wirebot/sync/outbox" });
        assert.equal(agent.tenantsReplicaDir, "/var/lib/wirebot/replica/scoreboard/tenants");
        // The watchdog takes only requests signed for the address the primary calls it at: its own on the link.
        assert.deepEqual(agent.calledAt, JSON.parse(fileContent(run, "primary-file-etc-wirebot-agent.json")).peer);
        assert.deepEqual(agent.calledAt, { address: "10.119.98.2", port: 8300 });
        const serving = run.byName("standby-serving");
        assert.match(serving.inputs.stdin, /^BEFORE_SERVING='\/usr\/local\/sbin\/wirebot-place-files \/usr\/local\/sbin\/wirebot-restore'$/m);
    });

    it("leaves the binaries out when the hosts' architectures differ", () => {
        const paths = { fileSync: ["/data/wirebot/discovery"], workspace: "/home/wirebot/clawd", binaries: "/data/wirebot/bin" } as Parameters<typeof fileSyncPaths>[0];
        assert.deepEqual(fileSyncPaths(paths, "amd64", "arm64"), ["/data/wirebot/discovery", "/home/wirebot/clawd"]);
        assert.deepEqual(fileSyncPaths(paths, "arm64", "arm64"), ["/data/wirebot/discovery", "/home/wirebot/clawd", "/data/wirebot/bin"]);
        // A primary stack from before the binaries path existed has none in its outputs.
        assert.deepEqual(fileSyncPaths({ ...paths, binaries: undefined } as unknown as typeof paths, "arm64", "arm64"), ["/data/wirebot/discovery", "/home/wirebot/clawd"]);
    });

    it("syncs the workspace the primary stack configures, even when fileSync does not list it", async () => {
        const options = existingStandbyOptions();
        const primary = options.stackOutputs!["organization/wirebot-failover/primary"] as typeof PRIMARY_OUTPUTS;
        options.stackOutputs!["organization/wirebot-failover/primary"] = {
            ...primary,
            paths: { ...primary.paths, workspace: "/srv/clawd", fileSync: ["/data/wirebot/users/verious"] },
        };
        const run = await runProgram(options);
        const list = fileContent(run, "primary-file-etc-wirebot-file-sync.list").split("\n").filter((l) => l.startsWith("/"));
        assert.deepEqual(list, ["/data/wirebot/users/verious", "/srv/clawd", "/data/wirebot/bin"]);
        assert.equal(fileContent(run, "standby-file-etc-wirebot-file-sync.list"), fileContent(run, "primary-file-etc-wirebot-file-sync.list"));
    });

    it("gives both agents the tunnel's witness route, signed, when no witness URL is configured", async () => {
        const run = await runProgram(existingStandbyOptions());
        for (const host of ["standby", "primary"]) {
            const agent = JSON.parse(fileContent(run, `${host}-file-etc-wirebot-agent.json`));
            assert.deepEqual(agent.witness, { url: "https://helm.wirebot.chat/.well-known/wirebot/serving", signed: true }, host);
            assert.equal(agent.witnessUrl, undefined);
        }
        // The route is the primary stack's: its first hostname, wherever that is.
        const options = existingStandbyOptions();
        options.stackOutputs!["organization/wirebot-failover/primary"] = { ...PRIMARY_OUTPUTS, witness: { url: "https://wins.example.org/.well-known/wirebot/serving", agentPort: 8300 } };
        const moved = JSON.parse(fileContent(await runProgram(options), "standby-file-etc-wirebot-agent.json"));
        assert.deepEqual(moved.witness, { url: "https://wins.example.org/.well-known/wirebot/serving", signed: true });
    });

    it("asks the operator's own witness URL instead, unsigned, as before", async () => {
        const run = await runProgram(existingStandbyOptions({ agent: { witnessUrl: "https://status.example.org/who" } }));
        for (const host of ["standby", "primary"]) {
            assert.deepEqual(JSON.parse(fileContent(run, `${host}-file-etc-wirebot-agent.json`)).witness, { url: "https://status.example.org/who", signed: false }, host);
        }
    });

    it("refuses an agent port the primary's tunnel does not send the witness path to, and follows one it does", async () => {
        const message = await configErrorOf(existingStandbyOptions({ agent: { port: 8411 } }));
        assert.match(
            message,
            /wirebot:agent\.port: bad value 8411: the primary stack's tunnel sends its witness path to port 8300 on the serving host, where the agents would not listen; set the same port on both stacks: pulumi config set --path -s primary wirebot:agent\.port 8411 && pulumi up -s primary, or pulumi config set --path wirebot:agent\.port 8300/,
        );
        const options = existingStandbyOptions({ agent: { port: 8411 } });
        options.stackOutputs!["organization/wirebot-failover/primary"] = { ...PRIMARY_OUTPUTS, witness: { ...PRIMARY_OUTPUTS.witness, agentPort: 8411 } };
        const run = await runProgram(options);
        assert.deepEqual(JSON.parse(fileContent(run, "standby-file-etc-wirebot-agent.json")).listen, { addresses: ["127.0.0.1", "10.119.98.2"], port: 8411 });
        assert.deepEqual(JSON.parse(fileContent(run, "primary-file-etc-wirebot-agent.json")).listen, { addresses: ["127.0.0.1"], port: 8411 });
    });

    it("needs the witness route from the primary stack: one brought up by an older version has none", async () => {
        const options = existingStandbyOptions();
        const { witness: _none, ...older } = PRIMARY_OUTPUTS;
        options.stackOutputs!["organization/wirebot-failover/primary"] = older;
        assert.match(await configErrorOf(options), /wirebot:primaryStack: stack organization\/wirebot-failover\/primary has no output 'witness'; run pulumi up -s primary \(with this version of the program\) first/);
    });

    it("schedules the fire drill on the primary and gives both agents the drill's checks", async () => {
        const run = await runProgram(existingStandbyOptions());
        assert.match(fileContent(run, "primary-file-etc-systemd-system-wirebot-fire-drill.timer"), /^OnCalendar=Sun \*-\*-01\.\.07 03:00:00 America\/Los_Angeles$/m);
        const agent = JSON.parse(fileContent(run, "primary-file-etc-wirebot-agent.json"));
        assert.deepEqual(agent.probes, {
            endpoints: [
                { name: "gateway", url: "http://127.0.0.1:18789/" },
                { name: "scoreboard", url: "http://127.0.0.1:8100/" },
            ],
            chat: { url: "http://127.0.0.1:18789/v1/chat/completions", model: "openclaw" },
            event: { url: "http://127.0.0.1:8100/v1/events", database: "/data/wirebot/scoreboard/events.db", table: "events", idColumn: "id" },
        });
    });

    it("installs no drill timer when the schedule is off", async () => {
        const run = await runProgram(existingStandbyOptions({ agent: { drill: { schedule: "off" } } }));
        assert.equal(run.resources.some((r) => r.name === "primary-file-etc-systemd-system-wirebot-fire-drill.timer"), false);
        assert.match(run.byName("primary-feeders").inputs.stdin, /^UNITS='wirebot-litestream.service wirebot-file-sync.timer wirebot-letta-dump.timer wirebot-replicator.service'$/m);
    });

    it("admits the primary's replication key on the standby for SFTP only", async () => {
        const run = await runProgram(existingStandbyOptions());
        const access = run.byName("standby-replica-access");
        assert.match(access.inputs.stdin, new RegExp(`^PUBLIC_KEY='${REPLICATION_PUBLIC_KEY}'$`, "m"));
        assert.match(access.inputs.stdin, /ForceCommand internal-sftp/);
        // One connection per database at once: the three listed ones, 200 tenants, 16 spare.
        assert.match(access.inputs.stdin, /^MAX_STARTUPS='219:30:438'$/m);
        const fewer = await runProgram(existingStandbyOptions({ litestream: { maxTenants: 20 } }));
        assert.match(fewer.byName("standby-replica-access").inputs.stdin, /^MAX_STARTUPS='39:30:100'$/m);
    });

    it("installs the agent on both hosts with the heartbeat token as a 0600 secret file", async () => {
        const run = await runProgram(existingStandbyOptions());
        for (const host of ["primary", "standby"]) {
            const token = run.byName(`${host}-file-etc-wirebot-heartbeat.token`);
            assert.ok(token.secretInputs.includes("stdin"));
            assert.match(token.inputs.stdin, /^MODE='0600'$/m);
            assert.match(token.inputs.stdin, /^OWNER='root'$/m);
            run.byName(`${host}-file-usr-local-lib-wirebot-failover-wirebot-agent.js`);
            run.byName(`${host}-file-etc-wirebot-agent.json`);
        }
        run.byName("primary-file-etc-systemd-system-wirebot-replicator.service");
        run.byName("standby-file-etc-systemd-system-wirebot-watchdog.service");
        assert.match(run.byName("standby-watchdog").inputs.stdin, /^UNITS='wirebot-watchdog\.service'$/m);
    });

    it("generates a heartbeat token when none is configured", async () => {
        const run = await runProgram(existingStandbyOptions({ heartbeatToken: undefined }));
        const [password] = run.ofType("random:index/randomPassword:RandomPassword");
        assert.equal(password.inputs.length, 48);
    });

    it("refuses litestream built for the wrong architecture of the primary", async () => {
        const options = existingStandbyOptions();
        const binaries = options.config.binaries as Record<string, Record<string, unknown>>;
        binaries.litestream = { amd64: binaries.litestream.amd64 };
        options.stackOutputs!["organization/wirebot-failover/primary"] = {
            ...options.stackOutputs!["organization/wirebot-failover/primary"],
            primaryHost: { host: "203.0.113.10", port: 22, user: "root", hostKey: STANDBY_HOST_KEY, arch: "arm64" },
        };
        await assert.rejects(runProgram(options), /wirebot:binaries\.litestream\.arm64: missing; the primary runs arm64/);
    });

    it("exports the replica locations and the standby address", async () => {
        const run = await runProgram(existingStandbyOptions());
        assert.equal(run.outputs.standbyAddress, "10.77.0.11");
        assert.deepEqual((run.outputs.replicaLocations as { live: string; replica: string }[])[1], {
            live: "/data/wirebot/scoreboard/events.db",
            replica: "10.77.0.11:/var/lib/wirebot/replica/scoreboard/events.db",
        });
        assert.ok(run.secretOutputs.includes("standbySshKey"));
    });
});

describe("the standby stack's next command", () => {
    it("after a planned switchover, points to the failback", () => {
        assert.match(nextCommand("standby", "standby"), /To fail back: pulumi config set wirebot:activeSide primary on both stacks/);
    });
    it("after an emergency or automatic failover, has the primary stack record it first", () => {
        for (const recorded of ["primary", undefined]) {
            assert.match(nextCommand("standby", recorded), /pulumi config set -s primary wirebot:activeSide standby && pulumi up -s primary; then fail back/);
        }
    });
    it("while the primary is active, points to the switchover", () => {
        assert.match(nextCommand("primary", "primary"), /To switch over/);
    });
});

/**
 * What pulumi destroy deletes only after `first`: the engine deletes a
 * resource after every resource that depends on it and after its children.
 */
function deletedAfter(run: { resources: RecordedResource[] }, first: string): Set<string> {
    const key = (r: RecordedResource) => `${r.type}::${r.name}`;
    const byKey = new Map(run.resources.map((r) => [key(r), r]));
    const after = new Set<string>();
    const visit = (k: string) => {
        const r = byKey.get(k);
        for (const next of [...(r?.dependencies ?? []), ...(r?.parent ? [r.parent] : [])]) {
            if (after.has(next)) continue;
            after.add(next);
            visit(next);
        }
    };
    visit(key(run.resources.find((r) => r.name === first)!));
    return after;
}

describe("destroying the standby stack", () => {
    for (const [variant, options] of [["on Hetzner", standbyOptions], ["on an existing host", existingStandbyOptions]] as const) {
        it(`deletes the standby's serving step first, whose delete refuses while the standby serves (${variant})`, async () => {
            const run = await runProgram(options());
            const serving = run.byName("standby-serving");
            assert.match(serving.inputs.stdin, /^REFUSE_DELETE_WHILE_SERVING='yes'$/m);
            const after = deletedAfter(run, "standby-serving");
            const others = run.resources.filter((r) => r.name !== "standby-serving" && r.type !== "pulumi:pulumi:StackReference" && !r.type.startsWith("pulumi:providers:"));
            const before = others.filter((r) => !after.has(`${r.type}::${r.name}`)).map((r) => r.name);
            assert.deepEqual(before, [], "deleted before the serving step could refuse");
            if (variant === "on Hetzner") assert.ok(after.has("hcloud:index/server:Server::standby-server"));
        });
    }
});
