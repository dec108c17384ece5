import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import * as http from "node:http";
import { after, before, describe, it } from "node:test";
import { agentConfig, CONNECTOR, installAgent, installLitestream, installServingUnits, prepare, replication, serving } from "./converge";
import { hosts, LabEnv, labEnv, LabHost, ssh, sshOk, waitFor } from "./lab";

// Automatic failover on real hosts: the primary is powered off under a steady
// write load and the standby's watchdog takes over by itself. A sampler watches
// the connectors on both hosts throughout; a witness double answers the way
// Cloudflare would: from the host whose connector is on.

const BRIDGE = "10.77.0.1";
const LOAD_PER_SECOND = 50;
const SAMPLE_EVERY_MS = 100;

function connectorOn(env: LabEnv, host: LabHost): Promise<boolean> {
    return new Promise((resolve) => {
        execFile(
            "ssh",
            [
                ...["-i", env.sshKey, "-o", `UserKnownHostsFile=${env.knownHosts}`, "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", "ConnectTimeout=1"],
                // One shared connection per host keeps a sample near the 100 ms period.
                ...["-o", "ControlMaster=auto", "-o", `ControlPath=${env.stateDir}/sampler-%h.sock`, "-o", "ControlPersist=30", "-o", "ServerAliveInterval=1", "-o", "ServerAliveCountMax=2"],
                `root@${env.address[host]}`,
                `systemctl show -p MainPID --value ${CONNECTOR}`,
            ],
            { timeout: 1500 },
            // A connector counts as on while its process runs; a powered-off host has none.
            (err, stdout) => resolve(!err && Number(stdout.trim()) > 0),
        );
    });
}

class Sampler {
    readonly on: Record<LabHost, boolean> = { primary: false, standby: false };
    maxOnAtOnce = 0;
    samples = 0;
    private running = true;
    private loop: Promise<void>;

    constructor(private readonly env: LabEnv) {
        this.loop = this.run();
    }

    private async run(): Promise<void> {
        while (this.running) {
            const started = Date.now();
            const [p, s] = await Promise.all([connectorOn(this.env, "primary"), connectorOn(this.env, "standby")]);
            this.on.primary = p;
            this.on.standby = s;
            this.samples += 1;
            this.maxOnAtOnce = Math.max(this.maxOnAtOnce, Number(p) + Number(s));
            await new Promise((r) => setTimeout(r, Math.max(0, SAMPLE_EVERY_MS - (Date.now() - started))));
        }
    }

    serving(): LabHost | undefined {
        if (this.on.primary && !this.on.standby) return "primary";
        if (this.on.standby && !this.on.primary) return "standby";
        return undefined;
    }

    async stop(): Promise<void> {
        this.running = false;
        await this.loop;
    }
}

/** Answers like the public hostname through Cloudflare: the serving host's gateway, or 530 when no connector is up. */
function witness(env: LabEnv, sampler: Sampler): Promise<http.Server> {
    const server = http.createServer(async (_req, res) => {
        const host = sampler.serving();
        if (!host) return res.writeHead(530).end();
        try {
            const body = await (await fetch(`http://${env.address[host]}:18789/`, { signal: AbortSignal.timeout(1000) })).text();
            res.writeHead(200, { "content-type": "application/json" }).end(body);
        } catch {
            res.writeHead(502).end();
        }
    });
    return new Promise((resolve) => server.listen(0, BRIDGE, () => resolve(server)));
}

class Load {
    readonly acked: { id: string; host: LabHost; at: number }[] = [];
    failures = 0;
    private running = true;
    private loop: Promise<void>;

    constructor(
        private readonly env: LabEnv,
        private readonly sampler: Sampler,
    ) {
        this.loop = this.run();
    }

    private async run(): Promise<void> {
        let n = 0;
        const started = Date.now();
        while (this.running) {
            const due = started + (n * 1000) / LOAD_PER_SECOND;
            await new Promise((r) => setTimeout(r, Math.max(0, due - Date.now())));
            const host = this.sampler.serving();
            const id = `load-${process.pid}-${n++}`;
            if (!host) {
                this.failures += 1;
                continue;
            }
            void this.post(host, id);
        }
    }

    private async post(host: LabHost, id: string): Promise<void> {
        try {
            const response = await fetch(`http://${this.env.address[host]}:8100/v1/events`, {
                method: "POST",
                headers: { "content-type": "application/json" },
                body: JSON.stringify({ id, kind: "load" }),
                signal: AbortSignal.timeout(1000),
            });
            if (response.ok) this.acked.push({ id, host, at: Date.now() });
            else this.failures += 1;
        } catch {
            this.failures += 1;
        }
    }

    async stop(): Promise<void> {
        this.running = false;
        await this.loop;
        await new Promise((r) => setTimeout(r, 1200));
    }
}

function journal(env: LabEnv, host: LabHost, unit: string): string {
    return ssh(env, host, `journalctl -u ${unit} --no-pager -o cat`).stdout;
}

describe("automatic failover on real hosts", { timeout: 15 * 60_000 }, () => {
    let env: LabEnv;
    let sampler: Sampler;
    let witnessServer: http.Server;

    before(async () => {
        hosts("up");
        env = labEnv();
        sampler = new Sampler(env);
        witnessServer = await witness(env, sampler);
        const witnessUrl = `http://${BRIDGE}:${(witnessServer.address() as { port: number }).port}/`;
        for (const host of ["primary", "standby"] as const) {
            prepare(env, host);
            installLitestream(env, host);
            installServingUnits(env, host);
        }
        serving(env, "primary", true);
        serving(env, "standby", false);
        replication(env);
        installAgent(env, "standby", agentConfig(env, "standby", witnessUrl));
        installAgent(env, "primary", agentConfig(env, "primary", witnessUrl));
        await waitFor("a first heartbeat on the standby", () => (ssh(env, "standby", "test -f /var/lib/wirebot-failover/last-heartbeat.json").status === 0 ? true : undefined), 20_000, 500);
        await waitFor("the primary to serve", () => (sampler.serving() === "primary" ? true : undefined), 10_000);
    });

    after(async () => {
        await sampler?.stop();
        witnessServer?.closeAllConnections();
        witnessServer?.close();
        if (!process.env.WIREBOT_LAB_KEEP) hosts("down");
    });

    it("does not activate the standby when only the link between the hosts is cut", async () => {
        hosts("partition");
        try {
            await waitFor("the watchdog to trip and consult the witness", () => (/not activating/.test(journal(env, "standby", "wirebot-watchdog.service")) ? true : undefined), 60_000, 1000);
        } finally {
            hosts("heal");
        }
        assert.equal(sampler.on.standby, false, "the standby's connector stayed off");
        assert.equal(sampler.on.primary, true);
        assert.match(journal(env, "standby", "wirebot-watchdog.service"), /the witness shows the primary still serving/);
        await waitFor("heartbeats to come back", () => (/heartbeats are back/.test(journal(env, "standby", "wirebot-watchdog.service")) ? true : undefined), 30_000, 1000);
    });

    it("takes over within 45 s when the primary loses power, losing at most one sync interval of writes", async () => {
        const load = new Load(env, sampler);
        let poweredOff = 0;
        let serving = 0;
        try {
            await new Promise((r) => setTimeout(r, 5000));
            poweredOff = Date.now();
            hosts("poweroff", "primary");
            await waitFor("the standby to serve", () => (sampler.serving() === "standby" ? true : undefined), 90_000);
            serving = Date.now();
            await new Promise((r) => setTimeout(r, 3000));
        } finally {
            await load.stop();
        }

        const rto = (serving - poweredOff) / 1000;
        const onPrimary = load.acked.filter((a) => a.host === "primary" && a.at <= poweredOff);
        const survived = new Set(sshOk(env, "standby", "sqlite3 /data/wirebot/scoreboard/events.db 'select id from events'").trim().split("\n"));
        const lost = onPrimary.filter((a) => !survived.has(a.id));
        const onStandby = load.acked.filter((a) => a.host === "standby");
        const watchdog = journal(env, "standby", "wirebot-watchdog.service");
        const activation = /took over in (\d+) ms/.exec(watchdog)?.[1];
        console.log(
            `failover: RTO ${rto.toFixed(1)} s (power off to standby serving), activation ${activation} ms, ` +
                `events acknowledged by the primary ${onPrimary.length}, lost ${lost.length}, acknowledged by the standby after takeover ${onStandby.length}`,
        );
        assert.ok(rto <= 45, `RTO ${rto} s is over 45 s`);
        assert.ok(lost.length <= LOAD_PER_SECOND, `${lost.length} acknowledged events lost: more than one 1 s sync interval at ${LOAD_PER_SECOND}/s`);
        assert.ok(onStandby.length > 0, "the standby takes writes after the takeover");
        const afterTakeover = new Set(sshOk(env, "standby", "sqlite3 /data/wirebot/scoreboard/events.db 'select id from events'").trim().split("\n"));
        assert.ok(onStandby.every((a) => afterTakeover.has(a.id)), "every write the standby acknowledged is in its database");
        assert.match(watchdog, /took over in \d+ ms: witness \d+ ms, restore \d+ ms, start services \d+ ms, start connector \d+ ms/);
    });

    it("keeps the primary's connector off when it comes back while the standby serves", async () => {
        hosts("poweron", "primary");
        await new Promise((r) => setTimeout(r, 12_000));
        assert.equal(sampler.on.primary, false, "the returning primary did not reconnect");
        assert.equal(sampler.on.standby, true);
        assert.match(journal(env, "primary", CONNECTOR), /the standby serves since .*; this host stays off until the config makes the primary active again/);
    });

    it("never had two connectors on at once", () => {
        console.log(`connector sampler: ${sampler.samples} samples, at most ${sampler.maxOnAtOnce} connector(s) on at once`);
        assert.ok(sampler.samples > 100);
        assert.equal(sampler.maxOnAtOnce, 1);
    });
});
