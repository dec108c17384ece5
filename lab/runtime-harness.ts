import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import * as path from "node:path";
import { WITNESS_PATH } from "../agent/contract";
import { DEFAULT_AGENT_PORT } from "../src/config/schema";
import { BRIDGE, CONNECTOR, createStacks, EDGE_TLS_PORT, LabStack, labSettings, setActiveSide, setConfig, STACKS, up, WITNESS_PORT } from "./engine";
import { hosts, LabEnv, labEnv, LabHost, Result, ssh, waitFor } from "./lab";

// What the lab's runtime tests and the benchmark share: a sampler of the
// connectors on both hosts, a witness double that answers like the public
// hostname through Cloudflare and takes the alert webhook's posts, and a
// steady write load recording every acknowledged event.

export { BRIDGE };
export const LOAD_PER_SECOND = 50;
const SAMPLE_EVERY_MS = 100;

/** A command on a host over the sampler's shared connection: stdout, or null when it failed. */
function quickSsh(env: LabEnv, host: LabHost, command: string, timeoutMs: number): Promise<string | null> {
    return new Promise((resolve) => {
        execFile(
            "ssh",
            [
                ...["-i", env.sshKey, "-o", `UserKnownHostsFile=${env.knownHosts}`, "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", "ConnectTimeout=1"],
                // One shared connection per host keeps a sample near the 100 ms period.
                ...["-o", "ControlMaster=auto", "-o", `ControlPath=${env.stateDir}/sampler-%h.sock`, "-o", "ControlPersist=30", "-o", "ServerAliveInterval=1", "-o", "ServerAliveCountMax=2"],
                `root@${env.address[host]}`,
                command,
            ],
            { timeout: timeoutMs },
            (err, stdout) => resolve(err ? null : stdout),
        );
    });
}

async function connectorOn(env: LabEnv, host: LabHost): Promise<boolean> {
    // A connector counts as on while its process runs; a powered-off host has none.
    return Number((await quickSsh(env, host, `systemctl show -p MainPID --value ${CONNECTOR}`, 1500))?.trim()) > 0;
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

/**
 * Answers like the public hostname through Cloudflare: the tunnel's witness
 * route (see witnessRoute), the serving host's gateway for any other path, or
 * 530 when no connector is up.
 */
export async function witness(env: LabEnv, sampler: Sampler, alerts: string[]): Promise<http.Server[]> {
    const handler = async (req: http.IncomingMessage, res: http.ServerResponse) => {
        if (req.method === "POST" && req.url === "/alert") {
            let body = "";
            for await (const chunk of req) body += chunk;
            alerts.push((JSON.parse(body) as { content: string }).content);
            return res.writeHead(204).end();
        }
        if (pathOf(req.url ?? "") === WITNESS_PATH) return witnessRoute(env, sampler, req, res);
        const host = sampler.serving();
        if (!host) return res.writeHead(530).end();
        // The gateway listens on its host's loopback, where the connector reaches
        // it, and says nothing of which host it is: ask on the host, as the
        // connector would, and name the host that answered. 502, as Cloudflare,
        // when the connector runs but the gateway does not answer.
        const hostname = await quickSsh(env, host, "curl -fsS -m 1 -o /dev/null http://127.0.0.1:18789/health && hostname", 2500);
        if (!hostname?.trim()) return res.writeHead(502).end();
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ ok: true, service: "gateway", host: hostname.trim() }));
    };
    // The public hostnames over TLS (the certificate hosts.sh made for them), and plain HTTP for the alert webhook.
    const tls = path.join(env.stateDir, "edge-tls");
    const servers = [
        https.createServer({ key: fs.readFileSync(path.join(tls, "edge.key")), cert: fs.readFileSync(path.join(tls, "edge.pem")) }, handler),
        http.createServer(handler),
    ];
    const ports = [EDGE_TLS_PORT, WITNESS_PORT];
    await Promise.all(servers.map((server, i) => new Promise<void>((resolve) => server.listen(ports[i], BRIDGE, resolve))));
    return servers;
}

/** Where the agents listen on each host: the lab's stacks leave agent.port at its default. */
const AGENT_PORT = DEFAULT_AGENT_PORT;

function pathOf(url: string): string {
    const query = url.indexOf("?");
    return query < 0 ? url : url.slice(0, query);
}

function shellQuoted(text: string): string {
    return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** The connector's request to its origin, as a command on the host: the body, then the status on a line of its own. */
export function originCall(method: string, url: string): string {
    // -g: the question's characters are the URL's, not curl's globs. Without -f an error status is relayed, not a failure.
    return `curl -sS -g -m 1.5 -X ${method} -w '\\n%{http_code}' ${shellQuoted(url)}`;
}

/**
 * The tunnel's witness route as the edge serves it: the request, its method and
 * query string as they came, goes to the host whose connector is up (either one
 * when both are, as the edge balances between connectors), to the agent on that
 * host's loopback, where the connector reaches it; the agent's status and body
 * come back as they are. 530 (error 1033) when no connector is up; 502 when the
 * connector runs but the agent does not answer.
 */
async function witnessRoute(env: LabEnv, sampler: Sampler, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    for await (const _ of req);
    const up = (["primary", "standby"] as const).filter((h) => sampler.on[h]);
    if (up.length === 0) return void res.writeHead(530, { "content-type": "text/plain" }).end("error code: 1033");
    const host = up[Math.floor(Math.random() * up.length)];
    const method = /^[A-Z]{1,16}$/.test(req.method ?? "") ? req.method! : "GET";
    const out = await quickSsh(env, host, originCall(method, `http://127.0.0.1:${AGENT_PORT}${req.url}`), 2500);
    const end = out?.lastIndexOf("\n") ?? -1;
    const status = out && end >= 0 ? Number(out.slice(end + 1).trim()) : 0;
    if (!(status >= 100 && status <= 599)) return void res.writeHead(502, { "content-type": "text/plain" }).end("error code: 502");
    res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" }).end(out!.slice(0, end));
}

/** An acknowledged event: written to `host`'s scoreboard, committed there at `at`; a tenant's carry the tenant and its sequence number. */
export interface LoadAck {
    id: string;
    host: LabHost;
    at: number;
    tenant?: string;
    seq?: number;
}

/**
 * Events to whichever host serves, each acknowledged by the scoreboard after
 * commit, spread evenly over each second: LOAD_PER_SECOND to the main
 * database, or with `tenants` one a second to each tenant's database
 * (X-Tenant), and none with no tenants. A tenant's event ids carry a sequence
 * number that never repeats across loads (the scoreboard ignores a repeated id).
 */
export class Load {
    private static readonly tenantSeq = new Map<string, number>();
    readonly acked: LoadAck[] = [];
    failures = 0;
    private running = true;
    private readonly loop: Promise<void>;

    constructor(
        private readonly env: LabEnv,
        private readonly sampler: Sampler,
        private readonly tenants?: string[],
        private readonly timeoutMs = tenants ? 2000 : 1000,
    ) {
        this.loop = tenants?.length === 0 ? Promise.resolve() : this.run();
    }

    private async run(): Promise<void> {
        const perSecond = this.tenants?.length ?? LOAD_PER_SECOND;
        const started = Date.now();
        for (let n = 0; this.running; n++) {
            const due = started + (n * 1000) / perSecond;
            await new Promise((r) => setTimeout(r, Math.max(0, due - Date.now())));
            if (!this.running) break;
            const host = this.sampler.serving();
            if (!host) {
                this.failures += 1;
                continue;
            }
            void this.post(host, this.tenants ? this.nextTenantEvent(this.tenants[n % perSecond]) : { id: `load-${process.pid}-${n}` });
        }
    }

    private nextTenantEvent(tenant: string): { id: string; tenant: string; seq: number } {
        const seq = (Load.tenantSeq.get(tenant) ?? 0) + 1;
        Load.tenantSeq.set(tenant, seq);
        return { id: `t-${tenant}-${seq}`, tenant, seq };
    }

    private async post(host: LabHost, event: { id: string; tenant?: string; seq?: number }): Promise<void> {
        try {
            const response = await fetch(`http://${this.env.address[host]}:8100/v1/events`, {
                method: "POST",
                headers: { "content-type": "application/json", ...(event.tenant ? { "x-tenant": event.tenant } : {}) },
                body: JSON.stringify({ id: event.id, kind: event.tenant ? "tenant-load" : "load" }),
                signal: AbortSignal.timeout(this.timeoutMs),
            });
            await response.text();
            if (response.ok) this.acked.push({ ...event, host, at: Date.now() });
            else this.failures += 1;
        } catch {
            this.failures += 1;
        }
    }

    /** Stops sending, and waits out the answers still on their way. */
    async stop(): Promise<void> {
        this.running = false;
        await this.loop;
        await new Promise((r) => setTimeout(r, this.timeoutMs + 200));
    }
}

/** Both hosts as `pulumi up` of the primary, standby and tenant stacks leaves them, the primary serving. */
/** The primary powered off under load; the load runs on until a moment after the standby serves. */
export async function powerOffUnderLoad(env: LabEnv, sampler: Sampler, settleMs: number, afterMs: number, timeoutMs: number): Promise<{ load: Load; poweredOff: number; serving: number }> {
    const load = new Load(env, sampler);
    let poweredOff = 0;
    let serving = 0;
    try {
        await new Promise((r) => setTimeout(r, settleMs));
        poweredOff = Date.now();
        hosts("poweroff", "primary");
        await waitFor("the standby to serve", () => (sampler.serving() === "standby" ? true : undefined), timeoutMs);
        serving = Date.now();
        await new Promise((r) => setTimeout(r, afterMs));
    } finally {
        await load.stop();
    }
    return { load, poweredOff, serving };
}

export async function converge(env: LabEnv, heartbeatSeconds: number, autoActivate = true): Promise<Record<LabStack, number>> {
    await createStacks(env, labSettings(heartbeatSeconds, autoActivate));
    const ms: Partial<Record<LabStack, number>> = {};
    for (const stack of STACKS) ms[stack] = await upOk(env, stack, `pulumi up -s ${stack}`);
    return ms as Record<LabStack, number>;
}

/** `pulumi up` that must succeed; returns how long it took. */
export async function upOk(env: LabEnv, stack: LabStack, what: string): Promise<number> {
    const r = await up(env, stack);
    if (r.status !== 0) throw new Error(`${what} failed:\n${r.stdout}${r.stderr}`);
    process.stderr.write(`[engine] ${what}: ${(r.ms / 1000).toFixed(1)} s\n`);
    return r.ms;
}

/** The agents' heartbeat and self-activation changed in the standby stack's config and converged. */
export async function setAgents(env: LabEnv, heartbeatSeconds: number, autoActivate = true): Promise<void> {
    await setConfig(env, "standby", "wirebot:agent.heartbeatIntervalSeconds", String(heartbeatSeconds));
    await setConfig(env, "standby", "wirebot:agent.autoActivate", String(autoActivate));
    await upOk(env, "standby", `pulumi up -s standby (heartbeat ${heartbeatSeconds} s, autoActivate ${autoActivate})`);
}

/**
 * A config flip as the runbook runs it: the host's stack set to the new active
 * side, then `pulumi up` of that stack, without blocking so the load and the
 * sampler go on. A refusal comes back as a non-zero status with its message in
 * the engine's output.
 */
export async function flipServing(env: LabEnv, host: LabHost, on: boolean): Promise<Result> {
    const other: LabHost = host === "primary" ? "standby" : "primary";
    await setActiveSide(env, host, on ? host : other);
    const r = await up(env, host);
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export async function firstHeartbeat(env: LabEnv): Promise<void> {
    await waitFor("a first heartbeat on the standby", () => (ssh(env, "standby", "test -f /var/lib/wirebot-failover/last-heartbeat.json").status === 0 ? true : undefined), 30_000, 500);
}

/** Both hosts booted and converged, the sampler and the witness running, the primary serving. */
export interface RuntimeLab {
    env: LabEnv;
    /** The first `pulumi up` of each stack on the fresh hosts, in ms. */
    convergeMs: Record<LabStack, number>;
    sampler: Sampler;
    witnessServers: http.Server[];
}

export async function startRuntimeLab(alerts: string[], heartbeatSeconds: number, autoActivate = true): Promise<RuntimeLab> {
    hosts("up");
    const env = labEnv();
    const sampler = new Sampler(env);
    const witnessServers = await witness(env, sampler, alerts);
    const convergeMs = await converge(env, heartbeatSeconds, autoActivate);
    await firstHeartbeat(env);
    await waitFor("the primary to serve", () => (sampler.serving() === "primary" ? true : undefined), 10_000);
    return { env, convergeMs, sampler, witnessServers };
}

/** Stops the sampler and the witness; the hosts go down unless WIREBOT_LAB_KEEP is set. */
export async function stopRuntimeLab(lab: RuntimeLab | undefined): Promise<void> {
    await lab?.sampler.stop();
    for (const server of lab?.witnessServers ?? []) {
        server.closeAllConnections();
        server.close();
    }
    if (!process.env.WIREBOT_LAB_KEEP) hosts("down");
}
