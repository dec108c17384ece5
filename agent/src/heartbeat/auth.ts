import * as http from "node:http";
import * as path from "node:path";
import type { AgentConfig } from "../../contract";
import { readSecretFile } from "../core/config";
import { signAnswersTo } from "../core/http";
import { log } from "../core/log";
import { NONCE_HEADER, SIGNATURE_HEADER, signAnswer, TARGET_HEADER, TIMESTAMP_HEADER, Verdict, verify } from "./heartbeat";
import { NonceJournal } from "./nonce-journal";
import { targetOf } from "./signed-call";

/** Extra time beyond the heartbeat interval a signed request may take to arrive. */
export const SKEW_MS = 5000;
export const NONCES = "seen-nonces.log";

/** What an agent checks signed requests with: the shared token, the names it is called at, and the nonces it has taken. */
export interface AgentAuth {
    token: string;
    targets: string[];
    journal: NonceJournal;
}

export function agentAuth(config: AgentConfig, nowMs = Date.now()): AgentAuth {
    return { token: readSecretFile(config.tokenFile), targets: targetsOf(config), journal: new NonceJournal(path.join(config.stateDir, NONCES), nowMs) };
}

const WILDCARDS = ["0.0.0.0", "::"];
export const LOOPBACK = ["127.0.0.1", "localhost"];

/**
 * The `address:port` names a request may be signed for: each listen address
 * (a wildcard or loopback listener is called over loopback by this host's own
 * commands) and the address the peer calls it at (`calledAt`).
 */
export function targetsOf(config: AgentConfig): string[] {
    const { addresses, port } = config.listen;
    const names: string[] = [];
    for (const address of addresses) {
        if (!WILDCARDS.includes(address)) names.push(targetOf({ address, port }));
        if (WILDCARDS.includes(address) || LOOPBACK.includes(address)) names.push(...LOOPBACK.map((a) => `${a}:${port}`));
    }
    if (config.calledAt) names.push(targetOf(config.calledAt));
    return [...new Set(names)];
}

/** Where this host's own commands call its agent: a loopback address it listens on, or loopback through a wildcard. */
export function localAddressOf(config: AgentConfig): string {
    const { addresses } = config.listen;
    return addresses.find((a) => LOOPBACK.includes(a)) ?? (addresses.some((a) => WILDCARDS.includes(a)) ? "127.0.0.1" : addresses[0]);
}

export function header(req: http.IncomingMessage, name: string): string | undefined {
    const value = req.headers[name];
    return Array.isArray(value) ? value[0] : value;
}

/**
 * Every mutating call carries the shared token's HMAC over its method, path,
 * target, timestamp, nonce and body, exactly like a heartbeat. A request signed
 * for another endpoint or another agent fails its signature or its target; a
 * nonce is taken once, across restarts. The answer to an authentic request is
 * signed over its nonce (see signAnswersTo). Anything refused is logged with
 * the caller's address (never with what it sent).
 */
export function authorize(req: http.IncomingMessage, body: string, auth: AgentAuth, nowMs: number, maxAgeMs: number, what: string, logSkew = true): Verdict {
    const windowMs = maxAgeMs + SKEW_MS;
    const target = header(req, TARGET_HEADER);
    const nonce = header(req, NONCE_HEADER);
    const parts = { method: req.method, path: req.url, target, nonce, timestamp: header(req, TIMESTAMP_HEADER), signature: header(req, SIGNATURE_HEADER), body };
    let verdict = verify(auth.token, parts, nowMs, windowMs);
    const authentic = verdict.ok || verdict.reason === "clock skew";
    if (authentic && !auth.targets.includes(target!)) verdict = { ok: false, reason: `signed for another agent (${target})` };
    else if (authentic && !firstUse(auth, nonce!, nowMs + 2 * windowMs, nowMs)) verdict = { ok: false, reason: "replayed" };
    else if (authentic) signAnswersTo(req, (status, text) => answerHeaders(auth.token, nonce!, status, text));
    if (!verdict.ok && (logSkew || verdict.reason !== "clock skew")) log(`rejected ${what} from ${req.socket.remoteAddress}: ${verdict.reason}${verdict.skewMs === undefined ? "" : ` (signed ${describeSkew(verdict.skewMs)})`}`);
    return verdict;
}

function answerHeaders(token: string, nonce: string, status: number, body: string): Record<string, string> {
    const timestamp = new Date().toISOString();
    return { [SIGNATURE_HEADER]: signAnswer(token, nonce, status, timestamp, body), [TIMESTAMP_HEADER]: timestamp };
}

function firstUse(auth: AgentAuth, nonce: string, expiresMs: number, nowMs: number): boolean {
    try {
        return auth.journal.firstUse(nonce, expiresMs, nowMs);
    } catch (err) {
        log(`cannot record a request's nonce (${(err as Error).message}); refusing it, as it could not be told from a replay later`);
        return false;
    }
}

/** The error a refused request is answered with: only an authentic request learns that its clock is the problem. */
export function refusal(verdict: Verdict): string {
    return !verdict.ok && verdict.skewMs !== undefined ? `clock skew: signed ${describeSkew(verdict.skewMs)}` : "rejected";
}

export function describeSkew(skewMs: number): string {
    const seconds = (Math.abs(skewMs) / 1000).toFixed(1);
    return skewMs >= 0 ? `${seconds} s ahead of this host's clock` : `${seconds} s behind this host's clock`;
}
