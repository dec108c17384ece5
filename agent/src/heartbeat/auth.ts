import * as http from "node:http";
import { SIGNATURE_HEADER, sign, TIMESTAMP_HEADER, Verdict, verify } from "./heartbeat";
import { log } from "../core/log";

/** Extra time beyond the heartbeat interval a signed request may take to arrive. */
const SKEW_MS = 5000;

export function header(req: http.IncomingMessage, name: string): string | undefined {
    const value = req.headers[name];
    return Array.isArray(value) ? value[0] : value;
}

/**
 * Every mutating call carries the shared token's HMAC over its timestamp and
 * body, exactly like a heartbeat; anything else is refused and logged with the
 * caller's address (never with what it sent).
 */
export function authorize(req: http.IncomingMessage, body: string, token: string, nowMs: number, maxAgeMs: number, what: string): Verdict {
    const signature = header(req, SIGNATURE_HEADER);
    let verdict = verify(token, { signature, timestamp: header(req, TIMESTAMP_HEADER) }, body, nowMs, maxAgeMs + SKEW_MS);
    if (verdict.ok && !firstUse(signature!, nowMs, maxAgeMs + SKEW_MS)) verdict = { ok: false, reason: "replayed" };
    if (!verdict.ok) log(`rejected ${what} from ${req.socket.remoteAddress}: ${verdict.reason}`);
    return verdict;
}

// Signatures seen inside the acceptance window: a captured request cannot be sent again.
const seen = new Map<string, number>();

function firstUse(signature: string, nowMs: number, windowMs: number): boolean {
    for (const [sig, expires] of seen) if (expires < nowMs) seen.delete(sig);
    if (seen.has(signature)) return false;
    seen.set(signature, nowMs + 2 * windowMs);
    return true;
}

/** Headers for a signed request to an agent. */
export function signedHeaders(token: string, body: string): Record<string, string> {
    const at = new Date().toISOString();
    return { "content-type": "application/json", [SIGNATURE_HEADER]: sign(token, at, body), [TIMESTAMP_HEADER]: at };
}
