import type * as http from "node:http";
import { log } from "./log";

/** What one caller address may ask without a signature: this many at once, then this many a second. */
export const GET_BURST = 20;
export const GETS_PER_SECOND = 10;
/** Callers remembered at most; beyond, new ones share one allowance. */
const MAX_CALLERS = 1024;
const LOG_EVERY_MS = 60_000;

/**
 * A token bucket per caller address for the GETs anyone who reaches the
 * agent's port may make unsigned (status, health, metrics, the witness route,
 * and GET /serving before its signature is checked). A flood from one address
 * gets 429 at once, before any work, so it cannot crowd out the heartbeats and
 * the signed calls, which are never limited. The witness route's questions all
 * come from the connector on loopback and share its allowance: a flood of them
 * through the tunnel makes the witness "cannot tell", never a yes.
 */
export class GetLimit {
    private readonly buckets = new Map<string, { tokens: number; at: number }>();
    private refused = 0;
    private lastLog = -Infinity;

    constructor(
        private readonly who: string,
        private readonly now: () => number = Date.now,
        private readonly burst = GET_BURST,
        private readonly perSecond = GETS_PER_SECOND,
    ) {}

    /** True when `req` is over its caller's allowance: it has been answered 429. */
    refuses(req: http.IncomingMessage, res: http.ServerResponse): boolean {
        if (req.method !== "GET" && req.method !== "HEAD") return false;
        const caller = req.socket.remoteAddress ?? "unknown";
        if (this.take(caller)) return false;
        this.refused++;
        const now = this.now();
        if (now - this.lastLog >= LOG_EVERY_MS) {
            log(`${this.who}: refusing GETs over ${this.perSecond} a second (from ${caller}; ${this.refused} refused since the last such line)`);
            this.lastLog = now;
            this.refused = 0;
        }
        const body = JSON.stringify({ error: "too many requests" });
        res.writeHead(429, { "content-type": "application/json", "retry-after": "1", "cache-control": "no-store", "content-length": Buffer.byteLength(body) });
        res.end(body);
        req.resume();
        return true;
    }

    private take(caller: string): boolean {
        const now = this.now();
        if (!this.buckets.has(caller) && this.buckets.size >= MAX_CALLERS) this.forgetIdle(now);
        const key = this.buckets.has(caller) || this.buckets.size < MAX_CALLERS ? caller : "*";
        const bucket = this.buckets.get(key) ?? { tokens: this.burst, at: now };
        bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.perSecond);
        bucket.at = now;
        this.buckets.set(key, bucket);
        if (bucket.tokens < 1) return false;
        bucket.tokens -= 1;
        return true;
    }

    /** Callers whose allowance is whole again are as good as new: forgotten. */
    private forgetIdle(now: number): void {
        for (const [caller, bucket] of this.buckets) {
            if (bucket.tokens + ((now - bucket.at) / 1000) * this.perSecond >= this.burst) this.buckets.delete(caller);
        }
    }
}
