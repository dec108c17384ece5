import * as crypto from "node:crypto";

export const SIGNATURE_HEADER = "x-wirebot-signature";
export const TIMESTAMP_HEADER = "x-wirebot-timestamp";

export interface Heartbeat {
    host: string;
    role: string;
    sentAt: string;
    seq: number;
    services: Record<string, string>;
}

/** HMAC-SHA256 over the timestamp and the exact body, so neither can be changed or replayed later. */
export function sign(token: string, timestamp: string, body: string): string {
    return "sha256=" + crypto.createHmac("sha256", token).update(`${timestamp}.${body}`).digest("hex");
}

export type Verdict = { ok: true } | { ok: false; reason: string };

export function verify(
    token: string,
    headers: { signature?: string; timestamp?: string },
    body: string,
    nowMs: number,
    maxSkewMs: number,
): Verdict {
    if (!headers.signature || !headers.timestamp) return { ok: false, reason: "unsigned" };
    const expected = Buffer.from(sign(token, headers.timestamp, body));
    const given = Buffer.from(headers.signature);
    if (expected.length !== given.length || !crypto.timingSafeEqual(expected, given)) return { ok: false, reason: "bad signature" };
    const sent = Date.parse(headers.timestamp);
    if (Number.isNaN(sent) || Math.abs(nowMs - sent) > maxSkewMs) return { ok: false, reason: "stale or future timestamp" };
    return { ok: true };
}
