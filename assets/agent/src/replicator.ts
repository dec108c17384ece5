import * as http from "node:http";
import * as os from "node:os";
import { AgentConfig, readSecretFile } from "./config";
import { Heartbeat, SIGNATURE_HEADER, sign, TIMESTAMP_HEADER } from "./heartbeat";
import { listen, sendJson } from "./http";
import { log } from "./log";
import { readState, writeState } from "./state";
import { unitStates } from "./systemd";

const SEND_TIMEOUT_MS = 2000;
const LAST_SENT = "last-heartbeat-sent.json";

interface SendRecord {
    at: string;
    seq: number;
    ok: boolean;
    error?: string;
}

/** The primary's agent: signed heartbeats to the standby, and the status API. */
export async function runReplicator(config: AgentConfig): Promise<http.Server> {
    const token = readSecretFile(config.tokenFile);
    let seq = 0;
    let lastError: string | undefined;
    const tick = async () => {
        seq += 1;
        const record = await sendHeartbeat(config, token, seq);
        writeState(config.stateDir, LAST_SENT, record);
        // One line when delivery starts failing or recovers, not one per beat.
        if (record.error !== lastError) log(record.ok ? `heartbeats reach ${config.peer.address}:${config.peer.port} again` : `heartbeat to ${config.peer.address}:${config.peer.port} failed: ${record.error}`);
        lastError = record.error;
    };
    void tick();
    setInterval(() => void tick(), config.heartbeatIntervalSeconds * 1000);
    const server = http.createServer((req, res) => handle(config, req, res));
    await listen(server, config.listen.address, config.listen.port);
    log(`replicator: heartbeats every ${config.heartbeatIntervalSeconds}s to ${config.peer.address}:${config.peer.port}; status API on ${config.listen.address}:${config.listen.port}`);
    return server;
}

export async function sendHeartbeat(config: AgentConfig, token: string, seq: number): Promise<SendRecord> {
    const sentAt = new Date().toISOString();
    const beat: Heartbeat = {
        host: os.hostname(),
        role: config.role,
        sentAt,
        seq,
        services: Object.fromEntries(Object.entries(unitStates([...config.units.services, config.units.connector])).map(([u, s]) => [u, s.active])),
    };
    const body = JSON.stringify(beat);
    try {
        const response = await fetch(`http://${config.peer.address}:${config.peer.port}/heartbeat`, {
            method: "POST",
            headers: { "content-type": "application/json", [SIGNATURE_HEADER]: sign(token, sentAt, body), [TIMESTAMP_HEADER]: sentAt },
            body,
            signal: AbortSignal.timeout(SEND_TIMEOUT_MS),
        });
        return response.ok ? { at: sentAt, seq, ok: true } : { at: sentAt, seq, ok: false, error: `HTTP ${response.status}` };
    } catch (err) {
        return { at: sentAt, seq, ok: false, error: (err as Error).message };
    }
}

function handle(config: AgentConfig, req: http.IncomingMessage, res: http.ServerResponse): void {
    if (req.method === "GET" && req.url === "/health") return sendJson(res, 200, { ok: true });
    if (req.method === "GET" && req.url === "/status") return sendJson(res, 200, replicatorStatus(config));
    sendJson(res, 404, { error: "not found" });
}

/** Shaped like the status document of the architecture; what is not measured yet is null. */
export function replicatorStatus(config: AgentConfig) {
    const last = readState<SendRecord>(config.stateDir, LAST_SENT);
    const litestream = unitStates(["wirebot-litestream.service"])["wirebot-litestream.service"];
    return {
        primary: true,
        standby_reachable: last?.ok ?? null,
        last_heartbeat: last?.ok ? last.at : null,
        replication: {
            litestream: { status: litestream.active === "active" ? "streaming" : litestream.active, lag_ms: null },
            file_sync: null,
            letta_dump: null,
        },
        standby: { ip: config.peer.address },
    };
}
