export interface Timers {
    setTimeout(fn: () => void, ms: number): unknown;
    clearTimeout(handle: unknown): void;
}

export const realTimers: Timers = {
    setTimeout: (fn, ms) => setTimeout(fn, ms),
    clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/**
 * Turns a stream of change notices into syncs: the first change opens a window
 * of `debounceMs`; changes inside the window join it (they do not extend it, so
 * a steady trickle of writes cannot postpone the sync forever); changes seen
 * while a sync runs open a new window once it ends. A change therefore reaches
 * the standby within one window plus at most two syncs.
 */
export class SyncScheduler {
    private window: unknown = null;
    private running = false;
    private dirty = false;

    constructor(
        private readonly debounceMs: number,
        private readonly sync: () => Promise<void>,
        private readonly timers: Timers = realTimers,
    ) {}

    changed(): void {
        if (this.running) {
            this.dirty = true;
            return;
        }
        if (this.window !== null) return;
        this.window = this.timers.setTimeout(() => {
            this.window = null;
            void this.run();
        }, this.debounceMs);
    }

    /** Syncs now (an operator's request), unless a sync is already under way. */
    async now(): Promise<void> {
        if (this.window !== null) {
            this.timers.clearTimeout(this.window);
            this.window = null;
        }
        await this.run();
    }

    get busy(): boolean {
        return this.running;
    }

    /** A change is waiting for its window or for the running sync to end. */
    get pending(): boolean {
        return this.window !== null || this.dirty;
    }

    private async run(): Promise<void> {
        if (this.running) {
            this.dirty = true;
            return;
        }
        this.running = true;
        this.dirty = false;
        try {
            await this.sync();
        } catch {
            // The sync reports its own failure; the next change or the timer tries again.
        } finally {
            this.running = false;
            if (this.dirty) {
                this.dirty = false;
                this.changed();
            }
        }
    }
}
