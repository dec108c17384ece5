import * as crypto from "node:crypto";

/**
 * What lets a heartbeat prove it is new without trusting its timestamp: each
 * answer to the primary carries a random challenge, and the next heartbeat
 * echoes it. A challenge is good once, and only for a while after it was given
 * out (on this host's clock), so a heartbeat recorded earlier and sent again
 * cannot answer one.
 */
export class Challenges {
    private readonly issued = new Map<string, number>();

    constructor(private readonly validMs: number) {}

    issue(nowMs: number): string {
        for (const [c, at] of this.issued) if (nowMs - at > this.validMs) this.issued.delete(c);
        const challenge = crypto.randomBytes(16).toString("hex");
        this.issued.set(challenge, nowMs);
        return challenge;
    }

    /** True when `challenge` was given out here within its time and not answered before; it is used up either way. */
    redeem(challenge: unknown, nowMs: number): boolean {
        if (typeof challenge !== "string") return false;
        const at = this.issued.get(challenge);
        this.issued.delete(challenge);
        return at !== undefined && nowMs - at <= this.validMs;
    }
}
