import { execFileSync } from "node:child_process";
import * as http from "node:http";
import * as os from "node:os";
import type { AgentConfig } from "../../contract";
import { Heartbeat } from "../heartbeat/heartbeat";
import { AgentAuth, agentAuth, authorize, SKEW_MS } from "../heartbeat/auth";
import { SkewWatch } from "../heartbeat/clock-skew";
import { signedCall, targetOf } from "../heartbeat/signed-call";
import { DRILL_UNIT } from "../drill/drill";
import { FileSync, lastFileSync, startFileSync } from "./file-sync";
import { listenOn, readBody, sendJson } from "../core/http";
import { LAST_SENT, LETTA_DUMP_STATE, LettaDumpRecord, replicationLag, replicatorMetrics, SendRecord, sendMetrics } from "../monitoring/host-metrics";
import { log } from "../core/log";
import { readState, writeState } from "../core/state";
import { UnitStates } from "../core/unit-states";
import { GetLimit } from "../core/rate-limit";
import { answerWitness, isWitnessQuestion } from "../heartbeat/witness-endpoint";
import { LITESTREAM_UNIT } from "../takeover/handover";
import { restrictInbox } from "../takeover/inbox";

const SEND_TIMEOUT_MS = 2000;
const MUTATION_MAX_AGE_MS = 30_000;

/** The primary's agent: signed heartbeats to the standby, and the status API. */
export async function runReplicator(config: AgentConfig): Promise<http.Server[]> {
    const auth = agentAuth(config);
    closeInbox(config);
    let seq = 0;
    let lastError: string | undefined;
    let replicas: SendRecord["replicas"];
    let challenge: string | undefined;
    const skew = new SkewWatch("the standby", SKEW_MS, (line) => log(`replicator: ${line}`), "heartbeats still count there, but claims to serve and handover calls are refused until the clocks agree");
    // Every unit this agent reports on, read at most once a second for the heartbeats, the status API, the metrics and the witness route.
    const units = new UnitStates([...config.units.services, config.units.connector, LITESTREAM_UNIT]);
    const tick = async () => {
        seq += 1;
        const { challenge: next, skewMs, ...record } = await sendHeartbeat(config, auth.token, seq, challenge, units);
        challenge = next ?? challenge;
        if (skewMs !== undefined) skew.observe(skewMs);
        // Without an answer the replicas are where they last were: the lag keeps growing from there.
        replicas = record.replicas ?? replicas;
        writeState(config.stateDir, LAST_SENT, { ...record, replicas });
        // One line when delivery starts failing or recovers, not one per beat.
        if (record.error !== lastError) log(record.ok ? `heartbeats reach ${config.peer.address}:${config.peer.port} again` : `heartbeat to ${config.peer.address}:${config.peer.port} failed: ${record.error}`);
        lastError = record.error;
    };
    void tick();
    setInterval(() => void tick(), config.heartbeatIntervalSeconds * 1000);
    const fileSync = startFileSync(config);
    const limit = new GetLimit("replicator");
    const handler: http.RequestListener = (req, res) => {
        if (limit.refuses(req, res)) return;
        // The tunnel's witness route reaches this agent while this host serves: anyone may ask, the answer is signed.
        const answered = isWitnessQuestion(req) ? answerWitness(req, res, auth.token, () => units.isActive(config.units.connector)) : handle(config, auth, fileSync, units, req, res);
        answered.catch((err: Error) => {
            log(`replicator: request failed: ${err.message}`);
            if (!res.headersSent) sendJson(res, 400, { error: "bad request" });
        });
    };
    const { addresses, port } = config.listen;
    const servers = await listenOn(handler, addresses, port, "replicator");
    log(`replicator: heartbeats every ${config.heartbeatIntervalSeconds}s to ${targetOf(config.peer)}; status API on ${addresses.map((a) => targetOf({ address: a, port })).join(", ")}`);
    return servers;
}

/** The standby's exports pulled by an earlier version of this agent sit in an inbox others could read: closed at start, not at the next failback. */
function closeInbox(config: AgentConfig): void {
    try {
        restrictInbox(config);
    } catch (err) {
        log(`replicator: cannot make the inbox of pulled exports root-only: ${(err as Error).message}`);
    }
}

/** What a heartbeat's signed answer says besides the record: the challenge to echo next, and the standby's clock. */
type Sent = SendRecord & { challenge?: string; skewMs?: number };

export async function sendHeartbeat(config: AgentConfig, token: string, seq: number, challenge: string | undefined, units: UnitStates): Promise<Sent> {
    const sentAt = new Date().toISOString();
    const states = await units.states();
    const beat: Heartbeat = {
        host: os.hostname(),
        role: config.role,
        sentAt,
        seq,
        services: Object.fromEntries([...config.units.services, config.units.connector].map((u) => [u, states[u] ?? "unknown"])),
        challenge,
    };
    try {
        const answer = await signedCall<{ replicas?: Record<string, string | null>; challenge?: string; error?: string }>(token, config.peer, "POST", "/heartbeat", beat, SEND_TIMEOUT_MS);
        const seen = { challenge: answer.body.challenge, skewMs: answer.skewMs };
        if (answer.status !== 200) return { at: sentAt, seq, ok: false, error: `HTTP ${answer.status}: ${answer.body.error ?? "no detail"}`, ...seen };
        return { at: sentAt, seq, ok: true, replicas: answer.body.replicas, ...seen };
    } catch (err) {
        return { at: sentAt, seq, ok: false, error: (err as Error).message };
    }
}

async function handle(config: AgentConfig, auth: AgentAuth, fileSync: FileSync | null, units: UnitStates, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (req.method === "GET" && req.url === "/health") return sendJson(res, 200, { ok: true });
    if (req.method === "GET" && req.url === "/status") return sendJson(res, 200, replicatorStatus(config, fileSync, await units.active(LITESTREAM_UNIT)));
    if (req.method === "GET" && req.url === "/metrics") return sendMetrics(res, replicatorMetrics(config, await units.isActive(config.units.connector)));
    if (req.method !== "POST" || (req.url !== "/trigger-sync" && req.url !== "/drill")) return sendJson(res, 404, { error: "not found" });
    const body = await readBody(req);
    if (!authorize(req, body, auth, Date.now(), MUTATION_MAX_AGE_MS, `POST ${req.url}`).ok) return sendJson(res, 401, { error: "rejected" });
    if (req.url === "/trigger-sync") {
        if (!fileSync) return sendJson(res, 409, { error: "no paths are configured for file sync" });
        log(`replicator: full sync requested from ${req.socket.remoteAddress}`);
        await fileSync.scheduler.now();
        return sendJson(res, 200, { fileSync: lastFileSync(config) });
    }
    return startDrill(config, res);
}

/** A drill takes a minute or more: the call starts it and answers at once; the log and the alert tell the outcome. */
function startDrill(config: AgentConfig, res: http.ServerResponse): void {
    try {
        execFileSync("systemctl", ["start", "--no-block", DRILL_UNIT]);
    } catch (err) {
        return sendJson(res, 500, { error: `could not start ${DRILL_UNIT}: ${(err as Error).message.split("\n")[0]}` });
    }
    log(`replicator: fire drill started on request (${DRILL_UNIT})`);
    sendJson(res, 202, { started: DRILL_UNIT, log: "/var/log/wirebot/fire-drill.log" });
}

/** Shaped like the status document of the architecture (000, section 9); `litestream` is its unit's active state. */
export function replicatorStatus(config: AgentConfig, fileSync: FileSync | null, litestream: string) {
    const last = readState<SendRecord>(config.stateDir, LAST_SENT);
    const lag = replicationLag(config, Date.now());
    const lags = Object.values(lag).filter((v): v is number => v !== null);
    const sync = lastFileSync(config);
    const letta = readState<LettaDumpRecord>(config.stateDir, LETTA_DUMP_STATE);
    return {
        primary: true,
        standby_reachable: last?.ok ?? null,
        last_heartbeat: last?.ok ? last.at : null,
        replication: {
            litestream: {
                status: litestream === "active" ? "streaming" : litestream,
                lag_ms: lags.length ? Math.round(Math.max(...lags) * 1000) : null,
                databases: Object.fromEntries(Object.entries(lag).map(([db, l]) => [db, l === null ? null : Math.round(l * 1000)])),
            },
            file_sync: {
                status: fileSync?.scheduler.busy ? "syncing" : sync === null ? "never" : sync.ok ? "idle" : "failing",
                last_sync: sync?.ok ? sync.at : null,
                pending: fileSync?.scheduler.pending ? 1 : 0,
                error: sync && !sync.ok ? (sync.reason ?? "failed") : undefined,
            },
            letta_dump: letta === null ? null : { status: letta.skipped ? "skipped" : letta.ok ? "ok" : "failing", last_dump: letta.ok && !letta.skipped ? letta.at : null, reason: letta.reason },
        },
        standby: { ip: config.peer.address },
    };
}
