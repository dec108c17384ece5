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
export function delayFor(attempt: number, retryAfterMs?: number, baseDelayMs = 1000, maxDelayMs = 60_000): number {
    if (retryAfterMs !== undefined && retryAfterMs >= 0) return Math.min(retryAfterMs, maxDelayMs);
    return Math.min(baseDelayMs * 2 ** (attempt - 1), maxDelayMs);
}

export function truncate(text: string): string {
    if (text.length <= MAX_CONTENT) return text;
    let end = MAX_CONTENT - 1;
    // Never cut between the two halves of a surrogate pair (an emoji, say).
    if (/[\uD800-\uDBFF]/.test(text[end - 1])) end -= 1;
    return text.slice(0, end) + "…";
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
    private draining = false;
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
            this.draining = true;
            void this.drain();
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
        // Deliveries start on a later turn, so send() returns before any request.
        await Promise.resolve();
        while (this.queue.length > 0) {
            try {
                await this.deliver(this.queue[0]);
            } catch {
                // Only a failing log can get here; the alert is given up like any other.
            }
            this.queue.shift();
        }
        // Cleared in the same turn as the last look at the queue, so an alert sent meanwhile is never stranded.
        this.draining = false;
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
            return { done: false, retry: true, reason: this.redact(describe(err)) };
        }
    }

    /** Error texts may quote the URL (fetch's "Failed to parse URL from …"); its token must not reach the log. */
    private redact(text: string): string {
        const url = this.options.url!;
        const secrets = [url];
        try {
            const parsed = new URL(url);
            secrets.push(parsed.href, parsed.pathname + parsed.search);
        } catch {
            // Not a URL: only the raw text can appear.
        }
        return secrets.filter((s) => s.length > 1).reduce((out, secret) => out.split(secret).join("<webhook URL>"), text);
    }

    private host(): string {
        try {
            return new URL(this.options.url!).host;
        } catch {
            return "the webhook";
        }
    }
}

function describe(err: unknown): string {
    const e = err as { message?: string; cause?: { code?: string; message?: string } };
    const cause = e.cause?.code ?? e.cause?.message;
    return cause ? `${e.message} (${cause})` : String(e.message ?? err);
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

function isWebUrl(text: string): boolean {
    try {
        return ["http:", "https:"].includes(new URL(text).protocol);
    } catch {
        return false;
    }
}

/** The webhook URL from its root-only file; no file, an empty one or one without a URL means alerts go to the log. */
export function alerterFromFile(file: string | null, log: (line: string) => void): Alerter {
    if (!file) return new Alerter({ url: null, log });
    let text = "";
    try {
        text = fs.readFileSync(file, "utf8").trim();
    } catch {
        // Reported below, as for an empty file.
    }
    if (!text) log(`alerts: ${file} is missing or empty; alerts go to this log only`);
    // What is in the file is a secret even when it is not a URL: it is not quoted.
    else if (!isWebUrl(text)) log(`alerts: ${file} does not hold an http(s) URL; alerts go to this log only`);
    return new Alerter({ url: text && isWebUrl(text) ? text : null, log });
}
