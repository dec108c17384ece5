import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { Alerter, AlertClock, alerterFromFile, delayFor, MAX_CONTENT } from "../../agent/src/monitoring/alerts";

const WEBHOOK = "https://discord.example/api/webhooks/123/secret-token";

const turn = () => new Promise((resolve) => setImmediate(resolve));

/** Sleeps return at once and move virtual time; every delay asked for is recorded. */
function fakeClock(): AlertClock & { delays: number[] } {
    let now = 0;
    const delays: number[] = [];
    return {
        delays,
        now: () => now,
        sleep: async (ms) => {
            delays.push(ms);
            now += ms;
            await turn();
        },
    };
}

type Reply = number | Error | "hang" | { status: number; headers?: Record<string, string>; body?: string };

/** Answers each request with the next reply (204 once they run out) and records what was sent. */
function fakeFetch(replies: Reply[]) {
    const calls: { url: string; init: RequestInit; body: { content: string; username: string } }[] = [];
    const fn = (async (url: string, init: RequestInit) => {
        calls.push({ url, init, body: JSON.parse(init.body as string) });
        const next = replies.shift() ?? 204;
        if (next === "hang") return new Promise<Response>(() => undefined);
        if (next instanceof Error) throw next;
        const spec = typeof next === "number" ? { status: next } : next;
        return new Response(spec.body ?? null, { status: spec.status, headers: spec.headers });
    }) as unknown as typeof fetch;
    return { fn, calls };
}

/** Waits on the event loop, not on the alerter's clock, so the clock records only the backoff. */
async function drained(alerter: Alerter): Promise<void> {
    for (let i = 0; i < 10_000; i++) {
        if (await alerter.flush(0)) return;
        await turn();
    }
    throw new Error("the alerter never drained");
}

function setup(replies: Reply[], options: { maxAttempts?: number; maxDelayMs?: number } = {}) {
    const clock = fakeClock();
    const f = fakeFetch(replies);
    const lines: string[] = [];
    const alerter = new Alerter({ url: WEBHOOK, fetch: f.fn, clock, log: (l) => lines.push(l), ...options });
    return { alerter, clock, calls: f.calls, lines };
}

describe("alert backoff", () => {
    it("doubles from the base and stops at the cap", () => {
        assert.deepEqual(
            [1, 2, 3, 4, 5, 6, 7, 8].map((a) => delayFor(a)),
            [1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000],
        );
        assert.deepEqual([1, 2, 3, 4].map((a) => delayFor(a, undefined, 10, 50)), [10, 20, 40, 50]);
    });

    it("takes a server's retry-after instead, also capped", () => {
        assert.equal(delayFor(4, 3000), 3000);
        assert.equal(delayFor(1, 0), 0);
        assert.equal(delayFor(1, 600_000), 60_000);
    });
});

describe("alerter", () => {
    it("returns from send() before any request is made", async () => {
        const { alerter, calls } = setup(["hang"]);
        alerter.send("standby took over");
        assert.equal(calls.length, 0);
        await turn();
        assert.equal(calls.length, 1, "the request went out on a later turn");
    });

    it("posts Discord's JSON with the bot's name", async () => {
        const { alerter, calls } = setup([204]);
        alerter.send("standby took over");
        await drained(alerter);
        assert.equal(calls[0].url, WEBHOOK);
        assert.equal(calls[0].init.method, "POST");
        assert.equal(new Headers(calls[0].init.headers).get("content-type"), "application/json");
        assert.deepEqual(calls[0].body, { content: "standby took over", username: "wirebot-failover" });
    });

    it("retries server errors and network errors after 1 s, 2 s, 4 s…, up to the cap", async () => {
        const { alerter, clock, calls, lines } = setup([503, new TypeError("fetch failed"), 500, 502, 504, 204], { maxAttempts: 6, maxDelayMs: 10_000 });
        alerter.send("x");
        await drained(alerter);
        assert.equal(calls.length, 6);
        assert.deepEqual(clock.delays, [1000, 2000, 4000, 8000, 10_000]);
        assert.deepEqual(lines, []);
    });

    it("waits as long as a 429 asks, from the header or Discord's body, no longer than the cap", async () => {
        const { alerter, clock, calls } = setup([
            { status: 429, headers: { "retry-after": "3" } },
            { status: 429, headers: { "content-type": "application/json" }, body: JSON.stringify({ message: "You are being rate limited.", retry_after: 1.5, global: false }) },
            { status: 429, headers: { "retry-after": "600" } },
            { status: 429, headers: { "retry-after": "Wed, 21 Oct 2015 07:28:00 GMT" } },
            204,
        ]);
        alerter.send("x");
        await drained(alerter);
        assert.equal(calls.length, 5);
        assert.deepEqual(clock.delays, [3000, 1500, 60_000, 8000], "a date is not a number of seconds: plain backoff");
    });

    it("does not retry a request the webhook refuses", async () => {
        const { alerter, clock, calls, lines } = setup([400]);
        alerter.send("x");
        await drained(alerter);
        assert.equal(calls.length, 1);
        assert.deepEqual(clock.delays, []);
        assert.deepEqual(lines, ["alert dropped after 1 attempt(s) to discord.example: HTTP 400"]);
    });

    it("drops an alert after the last attempt with one line that names the host, never the URL", async () => {
        const { alerter, calls, lines } = setup([503, new TypeError(`Failed to parse URL from ${WEBHOOK}`), 503], { maxAttempts: 3 });
        alerter.send("first");
        alerter.send("second");
        await drained(alerter);
        assert.equal(calls.length, 4, "three attempts for the first, one for the second");
        assert.equal(lines.length, 1);
        assert.match(lines[0], /^alert dropped after 3 attempt\(s\) to discord\.example: HTTP 503$/);
        assert.equal(calls[3].body.content, "second");
    });

    it("keeps the URL out of a network error's reason", async () => {
        const { alerter, lines } = setup([new TypeError(`Failed to parse URL from ${WEBHOOK}`)], { maxAttempts: 1 });
        alerter.send("x");
        await drained(alerter);
        assert.equal(lines.length, 1);
        assert.match(lines[0], /^alert dropped after 1 attempt\(s\) to discord\.example: /);
        assert.ok(!lines[0].includes("secret-token") && !lines[0].includes("/api/webhooks"), lines[0]);
    });

    it("delivers in the order sent, the second waiting for the first's retries", async () => {
        const { alerter, calls } = setup([503, 503, 204, 204]);
        alerter.send("first");
        alerter.send("second");
        await drained(alerter);
        assert.deepEqual(
            calls.map((c) => c.body.content),
            ["first", "first", "first", "second"],
        );
    });

    it("delivers an alert sent just as the queue empties", async () => {
        // Sent at every microtask depth after the first, so one lands between the last look at the queue and the end of draining.
        for (let depth = 0; depth < 200; depth++) {
            const { alerter, calls } = setup([204, 204]);
            alerter.send("first");
            let p = Promise.resolve();
            for (let i = 0; i < depth; i++) p = p.then(() => undefined);
            await p.then(() => alerter.send("second"));
            await drained(alerter);
            assert.deepEqual(
                calls.map((c) => c.body.content),
                ["first", "second"],
                `sent ${depth} microtask(s) after the first delivery`,
            );
        }
    });

    it("flushes: true once everything is delivered or dropped, false when the time runs out", async () => {
        const delivered = setup([503, 204]);
        delivered.alerter.send("x");
        assert.equal(await delivered.alerter.flush(60_000), true);
        assert.equal(delivered.calls.length, 2);

        const dropped = setup([400]);
        dropped.alerter.send("x");
        assert.equal(await dropped.alerter.flush(60_000), true);

        const stuck = setup(["hang"]);
        stuck.alerter.send("x");
        assert.equal(await stuck.alerter.flush(2500), false);
        assert.ok(stuck.clock.now() >= 2500 && stuck.clock.now() < 2600, `waited until ${stuck.clock.now()}`);

        const slow = setup([503, 503, 503]);
        slow.alerter.send("x");
        assert.equal(await slow.alerter.flush(2500), false, "1 s and 2 s of backoff do not fit in 2.5 s");

        assert.equal(await setup([]).alerter.flush(0), true, "nothing queued");
    });

    it("cuts text to Discord's 2000 characters, ending in an ellipsis", async () => {
        const { alerter, calls } = setup([]);
        alerter.send("x".repeat(5000));
        alerter.send("y".repeat(MAX_CONTENT));
        alerter.send("z".repeat(1998) + "😀😀");
        await drained(alerter);
        const [long, exact, emoji] = calls.map((c) => c.body.content);
        assert.equal(MAX_CONTENT, 2000);
        assert.equal(long.length, 2000);
        assert.equal(long, "x".repeat(1999) + "…");
        assert.equal(exact, "y".repeat(2000), "text at the limit is left alone");
        assert.ok(emoji.length <= 2000 && emoji.endsWith("z…"), "a character is never cut in half");
    });

    it("logs the alert instead when no webhook is configured", () => {
        const lines: string[] = [];
        const alerter = new Alerter({ url: null, log: (l) => lines.push(l) });
        alerter.send("took over");
        assert.deepEqual(lines, ["alert (no webhook configured): took over"]);
    });
});

async function webhookServer(fail: number) {
    const received: { headers: http.IncomingHttpHeaders; body: string }[] = [];
    let requests = 0;
    const server = http.createServer((req, res) => {
        let body = "";
        req.setEncoding("utf8");
        req.on("data", (chunk: string) => (body += chunk));
        req.on("end", () => {
            requests += 1;
            if (requests <= fail) return void res.writeHead(503).end();
            received.push({ headers: req.headers, body });
            res.writeHead(204).end();
        });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/api/webhooks/1/token`;
    return { url, received, requests: () => requests, close: () => new Promise((resolve) => server.close(resolve)) };
}

describe("alerter against a real HTTP server", () => {
    it("gets through two 503s and delivers the JSON", async () => {
        const hook = await webhookServer(2);
        try {
            const alerter = new Alerter({ url: hook.url, baseDelayMs: 10 });
            alerter.send("standby took over in 600 ms");
            assert.equal(await alerter.flush(5000), true);
            assert.equal(hook.requests(), 3);
            assert.equal(hook.received[0].headers["content-type"], "application/json");
            assert.deepEqual(JSON.parse(hook.received[0].body), { content: "standby took over in 600 ms", username: "wirebot-failover" });
        } finally {
            await hook.close();
        }
    });

    it("says why a refused connection was given up, without the URL", async () => {
        const hook = await webhookServer(0);
        await hook.close();
        const lines: string[] = [];
        const alerter = new Alerter({ url: hook.url, baseDelayMs: 10, maxAttempts: 2, log: (l) => lines.push(l) });
        alerter.send("x");
        assert.equal(await alerter.flush(5000), true);
        assert.equal(lines.length, 1);
        assert.match(lines[0], /^alert dropped after 2 attempt\(s\) to 127\.0\.0\.1:\d+: fetch failed \(ECONNREFUSED\)$/);
    });
});

describe("alerter from the webhook file", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wirebot-alerts-"));
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("reads the URL, trimmed", async () => {
        const hook = await webhookServer(0);
        try {
            const file = path.join(dir, "webhook");
            fs.writeFileSync(file, `  ${hook.url}\n`, { mode: 0o600 });
            const lines: string[] = [];
            const alerter = alerterFromFile(file, (l) => lines.push(l));
            alerter.send("drill passed");
            assert.equal(await alerter.flush(5000), true);
            assert.equal(JSON.parse(hook.received[0].body).content, "drill passed");
            assert.deepEqual(lines, []);
        } finally {
            await hook.close();
        }
    });

    it("falls back to the log, with one line, when the file is missing, empty or not a URL", () => {
        const empty = path.join(dir, "empty");
        fs.writeFileSync(empty, " \n");
        const garbage = path.join(dir, "garbage");
        fs.writeFileSync(garbage, "secret-token-without-a-scheme\n");
        for (const file of [path.join(dir, "missing"), empty, garbage]) {
            const lines: string[] = [];
            const alerter = alerterFromFile(file, (l) => lines.push(l));
            assert.equal(lines.length, 1, file);
            assert.ok(lines[0].includes(file));
            assert.ok(!lines[0].includes("secret-token"));
            alerter.send("took over");
            assert.deepEqual(lines.slice(1), ["alert (no webhook configured): took over"]);
        }
    });

    it("logs alerts, quietly, when no file is configured", () => {
        const lines: string[] = [];
        alerterFromFile(null, (l) => lines.push(l)).send("took over");
        assert.deepEqual(lines, ["alert (no webhook configured): took over"]);
    });
});
