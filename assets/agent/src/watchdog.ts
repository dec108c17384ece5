import * as http from "node:http";
import { AgentConfig, readSecretFile } from "./config";
import { Heartbeat, SIGNATURE_HEADER, TIMESTAMP_HEADER, verify } from "./heartbeat";
import { listen, readBody, sendJson } from "./http";
import { log } from "./log";
import { MissCounter } from "./miss-counter";
import { writeState } from "./state";

export const LAST_RECEIVED = "last-heartbeat.json";

/** The standby's agent: takes signed heartbeats and counts the ones that do not come. */
export async function runWatchdog(config: AgentConfig, now: () => number = Date.now): Promise<http.Server> {
    const token = readSecretFile(config.tokenFile);
    const intervalMs = config.heartbeatIntervalSeconds * 1000;
    const counter = new MissCounter(intervalMs, config.missThreshold, now());
    const server = http.createServer((req, res) => {
        handle(config, token, counter, now, req, res).catch((err: Error) => {
            log(`watchdog: request failed: ${err.message}`);
            if (!res.headersSent) sendJson(res, 400, { error: "bad request" });
        });
    });
    await listen(server, config.listen.address, config.listen.port);
    log(`watchdog: expecting heartbeats every ${config.heartbeatIntervalSeconds}s on ${config.listen.address}:${config.listen.port}; threshold ${config.missThreshold} misses`);
    watchMisses(config, counter, now, intervalMs);
    return server;
}

function watchMisses(config: AgentConfig, counter: MissCounter, now: () => number, intervalMs: number): void {
    let reported = 0;
    const timer = setInterval(() => {
        const misses = counter.misses(now());
        if (misses === reported) return;
        if (misses === 0) log("watchdog: heartbeats are back");
        else if (counter.tripped(now())) log(`watchdog: primary missed ${misses} heartbeats (threshold ${config.missThreshold})`);
        else log(`watchdog: primary missed ${misses} heartbeat(s)`);
        reported = misses;
    }, Math.max(250, intervalMs / 4));
    timer.unref();
}

async function handle(
    config: AgentConfig,
    token: string,
    counter: MissCounter,
    now: () => number,
    req: http.IncomingMessage,
    res: http.ServerResponse,
): Promise<void> {
    if (req.method === "GET" && req.url === "/health") return sendJson(res, 200, { ok: true, lastHeartbeatMs: counter.lastSeen() });
    if (req.method !== "POST" || req.url !== "/heartbeat") return sendJson(res, 404, { error: "not found" });
    const body = await readBody(req);
    const headers = { signature: header(req, SIGNATURE_HEADER), timestamp: header(req, TIMESTAMP_HEADER) };
    const maxSkewMs = 2 * config.heartbeatIntervalSeconds * 1000 + 5000;
    const verdict = verify(token, headers, body, now(), maxSkewMs);
    if (!verdict.ok) {
        log(`watchdog: rejected heartbeat from ${req.socket.remoteAddress}: ${verdict.reason}`);
        return sendJson(res, 401, { error: "rejected" });
    }
    const beat = JSON.parse(body) as Heartbeat;
    counter.heartbeat(now());
    writeState(config.stateDir, LAST_RECEIVED, { receivedAt: new Date(now()).toISOString(), from: req.socket.remoteAddress, heartbeat: beat });
    res.writeHead(204).end();
}

function header(req: http.IncomingMessage, name: string): string | undefined {
    const value = req.headers[name];
    return Array.isArray(value) ? value[0] : value;
}
