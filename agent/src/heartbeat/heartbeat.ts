import * as crypto from "node:crypto";

export const SIGNATURE_HEADER = "x-wirebot-signature";
export const TIMESTAMP_HEADER = "x-wirebot-timestamp";
export const NONCE_HEADER = "x-wirebot-nonce";
export const TARGET_HEADER = "x-wirebot-target";

export interface Heartbeat {
    host: string;
    role: string;
    sentAt: string;
    seq: number;
    services: Record<string, string>;
    /** The challenge of the standby's last answer, echoed: proves the heartbeat new when the clocks disagree (see challenges.ts). */
    challenge?: string;
}

/** Everything that decides what a signed request does and where: none of it can be changed, or the request sent elsewhere. */
export interface RequestParts {
    method: string;
    path: string;
    /** The agent the caller meant, as `address:port`. */
    target: string;
    timestamp: string;
    /** Random, once per request: the receiver refuses a nonce it has seen. */
    nonce: string;
    body: string;
}

// Requests and answers are signed under different labels, so neither can pass for the other.
const REQUEST_LABEL = "wirebot-request-v2";
const ANSWER_LABEL = "wirebot-answer-v2";

export function newNonce(): string {
    return crypto.randomBytes(16).toString("hex");
}

export function isNonce(value: string | undefined): value is string {
    return value !== undefined && /^[0-9a-f]{32}$/.test(value);
}

export function hmac(token: string, fields: string[]): string {
    return "v2=" + crypto.createHmac("sha256", token).update(fields.join("\n")).digest("hex");
}

export function digest(body: string): string {
    return crypto.createHash("sha256").update(body).digest("hex");
}

/** HMAC-SHA256 over the method, path, target, timestamp, nonce and the body's digest. */
export function signRequest(token: string, r: RequestParts): string {
    return hmac(token, [REQUEST_LABEL, r.method.toUpperCase(), r.path, r.target, r.timestamp, r.nonce, digest(r.body)]);
}

/** An answer is signed over the nonce of the request it answers, its status, its time and its body's digest: it answers that request only. */
export function signAnswer(token: string, nonce: string, status: number, timestamp: string, body: string): string {
    return hmac(token, [ANSWER_LABEL, nonce, String(status), timestamp, digest(body)]);
}

export function sameSignature(expected: string, given: string | undefined): boolean {
    if (given === undefined) return false;
    const a = Buffer.from(expected);
    const b = Buffer.from(given);
    return a.length === b.length && crypto.timingSafeEqual(a, b);
}

/** skewMs: how far the signer's clock is ahead of this host's (transit included), known once the signature is good. */
export type Verdict = { ok: true; skewMs: number } | { ok: false; reason: string; skewMs?: number };

/**
 * The signature is checked before the time, so a request signed with the token
 * on a clock that is off is told apart from a forgery ("clock skew" carries the
 * offset; see the watchdog for what a skewed heartbeat still proves).
 */
export function verify(token: string, parts: Partial<RequestParts> & { signature?: string }, nowMs: number, windowMs: number): Verdict {
    const { method, path, target, timestamp, nonce, signature } = parts;
    if (!signature || !timestamp || !nonce || !target || !method || path === undefined) return { ok: false, reason: "unsigned" };
    if (!isNonce(nonce)) return { ok: false, reason: "malformed nonce" };
    if (!sameSignature(signRequest(token, { method, path, target, timestamp, nonce, body: parts.body ?? "" }), signature)) return { ok: false, reason: "bad signature" };
    const sent = Date.parse(timestamp);
    if (Number.isNaN(sent)) return { ok: false, reason: "malformed timestamp" };
    const skewMs = sent - nowMs;
    if (Math.abs(skewMs) > windowMs) return { ok: false, reason: "clock skew", skewMs };
    return { ok: true, skewMs };
}
