import * as fs from "node:fs";

export interface AlertClock {
    now(): number;
    sleep(ms: number): Promise<void>;
}

export const realClock: AlertClock = {
    now: () => Date.now(),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** Discord refuses message content over 2000 characters. */
export const MAX_CONTENT = 2000;

export interface AlerterOptions {
    url: string | null;
    fetch?: typeof fetch;
    clock?: AlertClock;
    log?: (line: string) => void;
    maxAttempts?: number;
    baseDelayMs?: number;
    maxDelayMs?: number;
    requestTimeoutMs?: number;
}

/** Exponential backoff from the base, capped; a server's own retry-after wins when it gives one. */
export function delayFor(attempt: number, retryAfterMs: number | undefined, baseDelayMs = 1000, maxDelayMs = 60_000): number {
    if (retryAfterMs !== undefined && retryAfterMs >= 0) return Math.min(retryAfterMs, maxDelayMs);
    return Math.min(baseDelayMs * 2 ** (attempt - 1), maxDelayMs);
}

export function truncate(text: string): string {
    return text.length <= MAX_CONTENT ? text : text.slice(0, MAX_CONTENT - 1) + "…";
}

type Outcome = { done: true } | { done: false; retry: boolean; reason: string; retryAfterMs?: number };

/**
 * Operator alerts to a Discord-compatible webhook. `send` only queues: nothing
 * that takes over or fails back ever waits on an alert. Messages go out in order;
 * a failed delivery is retried with backoff and dropped, with one log line, after
 * the last attempt. The webhook URL holds a token and is never logged.
 */
export class Alerter {
    private readonly queue: string[] = [];
    private draining: Promise<void> | null = null;
    private readonly fetchFn: typeof fetch;
    private readonly clock: AlertClock;
    private readonly log: (line: string) => void;
    private readonly maxAttempts: number;
    private readonly baseDelayMs: number;
    private readonly maxDelayMs: number;
    private readonly requestTimeoutMs: number;

    constructor(private readonly options: AlerterOptions) {
        this.fetchFn = options.fetch ?? fetch;
        this.clock = options.clock ?? realClock;
        this.log = options.log ?? (() => undefined);
        this.maxAttempts = options.maxAttempts ?? 6;
        this.baseDelayMs = options.baseDelayMs ?? 1000;
        this.maxDelayMs = options.maxDelayMs ?? 60_000;
        this.requestTimeoutMs = options.requestTimeoutMs ?? 5000;
    }

    send(text: string): void {
        if (this.options.url === null) {
            this.log(`alert (no webhook configured): ${text}`);
            return;
        }
        this.queue.push(truncate(text));
        if (!this.draining) {
            // Deliveries start on a later turn, so send() returns before any request.
            this.draining = Promise.resolve()
                .then(() => this.drain())
                .finally(() => (this.draining = null));
        }
    }

    /** Waits for the queue to empty (delivered or dropped); false when the time ran out first. */
    async flush(timeoutMs: number): Promise<boolean> {
        const deadline = this.clock.now() + timeoutMs;
        while (this.queue.length > 0 || this.draining) {
            if (this.clock.now() >= deadline) return false;
            await this.clock.sleep(Math.min(50, Math.max(1, deadline - this.clock.now())));
        }
        return true;
    }

    private async drain(): Promise<void> {
        while (this.queue.length > 0) {
            await this.deliver(this.queue[0]);
            this.queue.shift();
        }
    }

    private async deliver(text: string): Promise<void> {
        for (let attempt = 1; ; attempt++) {
            const outcome = await this.post(text);
            if (outcome.done) return;
            if (!outcome.retry || attempt >= this.maxAttempts) {
                this.log(`alert dropped after ${attempt} attempt(s) to ${this.host()}: ${outcome.reason}`);
                return;
            }
            await this.clock.sleep(delayFor(attempt, outcome.retryAfterMs, this.baseDelayMs, this.maxDelayMs));
        }
    }

    private async post(text: string): Promise<Outcome> {
        try {
            const response = await this.fetchFn(this.options.url!, {
                method: "POST",
                headers: { "content-type": "application/json" },
                body: JSON.stringify({ content: text, username: "wirebot-failover" }),
                signal: AbortSignal.timeout(this.requestTimeoutMs),
            });
            const body = await response.text().catch(() => "");
            if (response.ok) return { done: true };
            if (response.status === 429) return { done: false, retry: true, reason: "HTTP 429", retryAfterMs: retryAfter(response.headers.get("retry-after"), body) };
            return { done: false, retry: response.status >= 500, reason: `HTTP ${response.status}` };
        } catch (err) {
            return { done: false, retry: true, reason: (err as Error).message };
        }
    }

    private host(): string {
        try {
            return new URL(this.options.url!).host;
        } catch {
            return "the webhook";
        }
    }
}

function retryAfter(header: string | null, body: string): number | undefined {
    if (header !== null && /^\d+(\.\d+)?$/.test(header.trim())) return Number(header) * 1000;
    try {
        const seconds = (JSON.parse(body) as { retry_after?: unknown }).retry_after;
        return typeof seconds === "number" ? seconds * 1000 : undefined;
    } catch {
        return undefined;
    }
}

/** The webhook URL from its root-only file; no file or an empty one means alerts go to the log. */
export function alerterFromFile(file: string | null, log: (line: string) => void): Alerter {
    let url: string | null = null;
    if (file) {
        try {
            url = fs.readFileSync(file, "utf8").trim() || null;
        } catch {
            url = null;
        }
        if (url === null) log(`alerts: ${file} is missing or empty; alerts go to this log only`);
    }
    return new Alerter({ url, log });
}
