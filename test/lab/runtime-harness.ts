import { execFile } from "node:child_process";
import * as http from "node:http";
import { startedFromShow } from "../../assets/agent/src/systemd";
import { agentConfig, CONNECTOR, fileSync, installAgent, installLitestream, installServingUnits, prepare, replication, serving } from "./converge";
import { fileStep, hosts, LabEnv, labEnv, LabHost, ssh, waitFor } from "./lab";

// What the lab's runtime tests and the benchmark share: a sampler of the
// connectors on both hosts, a witness double that answers like the public
// hostname through Cloudflare and takes the alert webhook's posts, and a
// steady write load recording every acknowledged event.

export const BRIDGE = "10.77.0.1";
export const LOAD_PER_SECOND = 50;
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
                `systemctl show -p ActiveState,InactiveExitTimestampMonotonic,ExecMainStartTimestampMonotonic ${CONNECTOR}`,
            ],
            { timeout: 1500 },
            // On as the agents count it: running, or restarting after it ran. A powered-off host has none.
            (err, stdout) => resolve(!err && startedFromShow(stdout)),
        );
    });
}

export class Sampler {
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
export function witness(env: LabEnv, sampler: Sampler, alerts: string[]): Promise<http.Server> {
    const server = http.createServer(async (req, res) => {
        if (req.method === "POST" && req.url === "/alert") {
            let body = "";
            for await (const chunk of req) body += chunk;
            alerts.push((JSON.parse(body) as { content: string }).content);
            return res.writeHead(204).end();
        }
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

export class Load {
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


const ALERT_WEBHOOK_FILE = "/etc/wirebot/alert-webhook.url";

/** Both hosts as the two stacks leave them, the primary serving; the agents pointed at the witness double. */
export async function converge(env: LabEnv, witnessServer: http.Server, heartbeatSeconds: number, autoActivate = true): Promise<void> {
    const base = witnessBase(witnessServer);
    for (const host of ["primary", "standby"] as const) {
        prepare(env, host);
        installLitestream(env, host);
        installServingUnits(env, host);
    }
    serving(env, "primary", true);
    serving(env, "standby", false);
    replication(env);
    fileSync(env);
    setAgents(env, base, heartbeatSeconds, autoActivate);
}

export function witnessBase(witnessServer: http.Server): string {
    return `http://${BRIDGE}:${(witnessServer.address() as { port: number }).port}`;
}

export function setAgents(env: LabEnv, witnessBase: string, heartbeatSeconds: number, autoActivate = true): void {
    for (const host of ["primary", "standby"] as const) {
        fileStep(env, host, ALERT_WEBHOOK_FILE, `${witnessBase}/alert`, "0600");
        installAgent(env, host, { ...agentConfig(env, host, `${witnessBase}/`), heartbeatIntervalSeconds: heartbeatSeconds, autoActivate, alertWebhookUrlFile: ALERT_WEBHOOK_FILE });
    }
}

export async function firstHeartbeat(env: LabEnv): Promise<void> {
    await waitFor("a first heartbeat on the standby", () => (ssh(env, "standby", "test -f /var/lib/wirebot-failover/last-heartbeat.json").status === 0 ? true : undefined), 30_000, 500);
}

/** Both hosts booted and converged, the sampler and the witness running, the primary serving. */
export interface RuntimeLab {
    env: LabEnv;
    sampler: Sampler;
    witnessServer: http.Server;
}

export async function startRuntimeLab(alerts: string[], heartbeatSeconds: number, autoActivate = true): Promise<RuntimeLab> {
    hosts("up");
    const env = labEnv();
    const sampler = new Sampler(env);
    const witnessServer = await witness(env, sampler, alerts);
    await converge(env, witnessServer, heartbeatSeconds, autoActivate);
    await firstHeartbeat(env);
    await waitFor("the primary to serve", () => (sampler.serving() === "primary" ? true : undefined), 10_000);
    return { env, sampler, witnessServer };
}

/** Stops the sampler and the witness; the hosts go down unless WIREBOT_LAB_KEEP is set. */
export async function stopRuntimeLab(lab: RuntimeLab | undefined): Promise<void> {
    await lab?.sampler.stop();
    lab?.witnessServer.closeAllConnections();
    lab?.witnessServer.close();
    if (!process.env.WIREBOT_LAB_KEEP) hosts("down");
}
