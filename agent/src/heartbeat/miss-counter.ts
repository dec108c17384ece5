/**
 * Counts heartbeat intervals that passed without a good heartbeat. Time comes
 * from the caller, so the counting is tested with a fake clock.
 */
export class MissCounter {
    private lastSeenMs: number;

    constructor(
        private readonly intervalMs: number,
        private readonly threshold: number,
        startedAtMs: number,
    ) {
        this.lastSeenMs = startedAtMs;
    }

    heartbeat(nowMs: number): void {
        this.lastSeenMs = nowMs;
    }

    misses(nowMs: number): number {
        return Math.max(0, Math.floor((nowMs - this.lastSeenMs) / this.intervalMs));
    }

    tripped(nowMs: number): boolean {
        return this.misses(nowMs) >= this.threshold;
    }

    lastSeen(): number {
        return this.lastSeenMs;
    }
}
