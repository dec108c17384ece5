import * as http from "node:http";
import * as os from "node:os";
import { Alerter, alerterFromFile } from "../monitoring/alerts";
import { activate, ActivationRefused, activationUnderway, takeoverRecord } from "../takeover/activation";
import type { AgentConfig } from "../../contract";
import { AgentAuth, agentAuth, authorize, describeSkew, refusal, SKEW_MS } from "./auth";
import { Challenges } from "./challenges";
import { SkewWatch } from "./clock-skew";
import { Heartbeat } from "./heartbeat";
import { listenOn, readBody, sendJson } from "../core/http";
import { log } from "../core/log";
import { MissCounter } from "./miss-counter";
import { databasesOf } from "../replication/databases";
import { position } from "../replication/ltx-position";
import { sendMetrics, standbyMetrics } from "../monitoring/host-metrics";
import { recordClaim, recordHeartbeat } from "./primary-life";
import { isActive, isActiveNow } from "../core/systemd";
import { UnitStates } from "../core/unit-states";
import { GetLimit } from "../core/rate-limit";
import { readHandback } from "../takeover/handback-record";
import { handleTakeoverApi, TAKEOVER_PATHS } from "../takeover/takeover-api";
import { answerWitness, isWitnessQuestion } from "./witness-endpoint";
import { targetOf } from "./signed-call";

/** The standby's agent: takes signed heartbeats and counts the ones that do not come. */
export async function runWatchdog(config: AgentConfig, now: () => number = Date.now): Promise<http.Server[]> {
    const auth = agentAuth(config);
    const alerter = alerterFromFile(config.alertWebhookUrlFile, log);
    const intervalMs = config.heartbeatIntervalSeconds * 1000;
    const counter = new MissCounter(intervalMs, config.missThreshold, now());
    const beats: Beats = {
        counter,
        challenges: new Challenges((config.missThreshold + 1) * intervalMs),
        skew: new SkewWatch("the primary", SKEW_MS, (line) => sayTo(alerter, line), SKEWED_BEATS),
    };
    // For the metrics and the witness route: read at most once a second, however many ask.
    const units = new UnitStates([config.units.connector]);
    const connectorServing = () => units.isActive(config.units.connector);
    const limit = new GetLimit("watchdog");
    const handler: http.RequestListener = (req, res) => {
        if (limit.refuses(req, res)) return;
        // The tunnel's witness route reaches this agent while this host serves: anyone may ask, the answer is signed.
        const answered = isWitnessQuestion(req) ? answerWitness(req, res, auth.token, connectorServing) : handle(config, auth, beats, connectorServing, now, req, res);
        answered.catch((err: Error) => {
            log(`watchdog: request failed: ${err.message}`);
            if (!res.headersSent) sendJson(res, 400, { error: "bad request" });
        });
    };
    const { addresses, port } = config.listen;
    const servers = await listenOn(handler, addresses, port, "watchdog");
    log(`watchdog: expecting heartbeats every ${config.heartbeatIntervalSeconds}s on ${addresses.map((a) => targetOf({ address: a, port })).join(", ")}; threshold ${config.missThreshold} misses`);
    watchMisses(config, counter, now, intervalMs, alerter);
    return servers;
}

function watchMisses(config: AgentConfig, counter: MissCounter, now: () => number, intervalMs: number, alerter: Alerter): void {
    let reported = 0;
    let acting = false;
    let lastAttempt = -Infinity;
    const timer = setInterval(() => {
        const misses = counter.misses(now());
        if (misses !== reported) {
            if (misses === 0) log("watchdog: heartbeats are back");
            else log(`watchdog: primary missed ${misses} heartbeat(s) (threshold ${config.missThreshold})`);
            reported = misses;
        }
        if (!counter.tripped(now()) || acting || now() - lastAttempt < intervalMs) return;
        if (isActive(config.units.connector)) return;
        lastAttempt = now();
        acting = true;
        void takeOver(config, misses, alerter).finally(() => (acting = false));
    }, Math.max(250, intervalMs / 4));
    timer.unref();
}

/** One line to the log and the same to the operator's alerts. */
function sayTo(alerter: Alerter, line: string): void {
    log(`watchdog: ${line}`);
    alerter.send(`[${os.hostname()}] ${line}`);
}

/**
 * After the threshold: consult the witness, then activate, or alert only when
 * so configured. Missed heartbeats alone never activate: the witness must say
 * that nobody serves. A witness that cannot be reached, times out or answers
 * something malformed cannot tell, and that does not count as "the primary is
 * gone" (witness.ts, decide).
 */
async function takeOver(config: AgentConfig, misses: number, alerter: Alerter): Promise<void> {
    const say = (line: string) => sayTo(alerter, line);
    if (!config.autoActivate) return say(`primary missed ${misses} heartbeats; automatic activation is off, alerting only`);
    if (!config.witness) return say(`primary missed ${misses} heartbeats, but no witness is configured to rule out a partition; not activating`);
    try {
        const takeover = await activate(config, `primary missed ${misses} heartbeats`, false, { automatic: true, primaryMustBeSilent: true });
        const total = takeover.timeline.reduce((sum, t) => sum + t.ms, 0);
        say(`took over in ${total} ms: ${takeover.timeline.map((t) => `${t.step} ${t.ms} ms${t.detail ? ` (${t.detail})` : ""}`).join(", ")}`);
    } catch (err) {
        const refused = err instanceof ActivationRefused;
        say(`${refused ? "not activating" : "activation failed"}: ${(err as Error).message}`);
    }
}

/** What the watchdog keeps about the primary's heartbeats. */
interface Beats {
    counter: MissCounter;
    challenges: Challenges;
    skew: SkewWatch;
}

const SKEWED_BEATS = "its heartbeats still count, each echoing this watchdog's last challenge, but its claims to serve and its handover calls are refused until the clocks agree";

async function handle(
    config: AgentConfig,
    auth: AgentAuth,
    beats: Beats,
    connectorServing: () => Promise<boolean>,
    now: () => number,
    req: http.IncomingMessage,
    res: http.ServerResponse,
): Promise<void> {
    const { counter } = beats;
    if (req.method === "GET" && req.url === "/health") return sendJson(res, 200, { ok: true, lastHeartbeatMs: counter.lastSeen() });
    if (req.method === "GET" && req.url === "/metrics") return sendMetrics(res, standbyMetrics(config, counter, await connectorServing(), now()));
    if (req.method === "GET" && req.url === "/serving") {
        // The primary's failback acts on this answer: only a signed question gets one, and it goes out signed, read afresh
        // (without blocking the heartbeats; no answer from systemctl fails the request, which is never a "no").
        const verdict = authorize(req, await readBody(req), auth, now(), 2 * config.heartbeatIntervalSeconds * 1000, "GET /serving");
        if (!verdict.ok) return sendJson(res, 401, { error: refusal(verdict) });
        return sendJson(res, 200, {
            serving: await isActiveNow(config.units.connector),
            activating: activationUnderway(config),
            takeover: takeoverRecord(config),
            handback: readHandback(config),
        });
    }
    if (req.method === "POST" && req.url === "/claim") return handleClaim(config, auth, counter, now, req, res);
    if (req.method === "POST" && TAKEOVER_PATHS.includes(req.url ?? "")) return handleTakeoverApi(config, auth, req, res);
    if (req.method !== "POST" || req.url !== "/heartbeat") return sendJson(res, 404, { error: "not found" });
    return handleHeartbeat(config, auth, beats, now, req, res);
}

/**
 * A heartbeat whose signature is good but whose time is outside the window is
 * from the primary, on a clock that is off: it proves the primary alive as long
 * as it echoes a challenge this watchdog gave out (so it is no recording sent
 * again), and skew alone never trips the miss counter. The offset is measured
 * on every authentic heartbeat and reported when it exceeds the allowance.
 */
async function handleHeartbeat(config: AgentConfig, auth: AgentAuth, beats: Beats, now: () => number, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const body = await readBody(req);
    const verdict = authorize(req, body, auth, now(), 2 * config.heartbeatIntervalSeconds * 1000, "heartbeat", false);
    if (verdict.skewMs === undefined) return sendJson(res, 401, { error: "rejected" });
    beats.skew.observe(verdict.skewMs);
    const beat = JSON.parse(body) as Heartbeat;
    const fresh = beats.challenges.redeem(beat.challenge, now()) || verdict.ok;
    if (!fresh) {
        log(`watchdog: rejected heartbeat from ${req.socket.remoteAddress}: signed ${describeSkew(verdict.skewMs)} and echoing no challenge of this watchdog`);
        return sendJson(res, 401, { error: refusal(verdict), skewMs: verdict.skewMs, challenge: beats.challenges.issue(now()) });
    }
    beats.counter.heartbeat(now());
    recordHeartbeat(config, now(), req.socket.remoteAddress, { ...beat, skewMs: verdict.skewMs });
    // The reply tells the primary how far each replica has got, for its lag figures.
    const replicas = Object.fromEntries(databasesOf(config).map((db) => [db.live, position(db.replica)]));
    sendJson(res, 200, { replicas, challenge: beats.challenges.issue(now()) });
}

/**
 * The primary asks before it starts its connector or a service (`may-serve`).
 * The claim is recorded as a sign of life first, then the answer is read: no
 * while this host serves or an activation runs. Once granted, no activation
 * starts here until the primary has been silent for the miss threshold again.
 */
async function handleClaim(config: AgentConfig, auth: AgentAuth, counter: MissCounter, now: () => number, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const body = await readBody(req);
    const verdict = authorize(req, body, auth, now(), 2 * config.heartbeatIntervalSeconds * 1000, "claim");
    if (!verdict.ok) return sendJson(res, 401, { error: refusal(verdict) });
    const { unit } = JSON.parse(body) as { unit?: string };
    counter.heartbeat(now());
    recordClaim(config, now(), req.socket.remoteAddress, unit ?? "unknown");
    // Read afresh after the claim is recorded (see above), without blocking the heartbeats meanwhile.
    const serving = await isActiveNow(config.units.connector);
    const activating = activationUnderway(config);
    const granted = !serving && !activating;
    if (!granted) log(`watchdog: refused the primary's claim to start ${unit ?? "a unit"}: ${serving ? "this standby serves" : "an activation is under way"}`);
    return sendJson(res, 200, { granted, serving, activating, takeover: takeoverRecord(config) });
}
