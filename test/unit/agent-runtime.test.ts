import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { Alerter, AlertClock, delayFor, MAX_CONTENT } from "../../agent/src/monitoring/alerts";
import { TreeWatcher } from "../../agent/src/replication/file-watch";
import { lagSeconds, localStateDir, position } from "../../agent/src/replication/ltx-position";
import { renderMetrics } from "../../agent/src/monitoring/metrics";
import { SyncScheduler, Timers } from "../../agent/src/replication/sync-scheduler";

/** Timers that fire only when the test moves the clock. */
class FakeTimers implements Timers {
    now = 0;
    private pending: { at: number; fn: () => void; id: number }[] = [];
    private next = 1;
    setTimeout(fn: () => void, ms: number): unknown {
        const id = this.next++;
        this.pending.push({ at: this.now + ms, fn, id });
        return id;
    }
    clearTimeout(handle: unknown): void {
        this.pending = this.pending.filter((t) => t.id !== handle);
    }
    async advance(ms: number): Promise<void> {
        const until = this.now + ms;
        for (;;) {
            const due = this.pending.filter((t) => t.at <= until).sort((a, b) => a.at - b.at)[0];
            if (!due) break;
            this.pending = this.pending.filter((t) => t !== due);
            this.now = due.at;
            due.fn();
            await settle();
        }
        this.now = until;
    }
}

const settle = () => new Promise((r) => setImmediate(r));

describe("file sync debounce", () => {
    function scheduler(syncMs = 0) {
        const timers = new FakeTimers();
        const syncs: number[] = [];
        let finish: (() => void) | null = null;
        const s = new SyncScheduler(
            5000,
            () => {
                syncs.push(timers.now);
                if (syncMs === 0) return Promise.resolve();
                return new Promise<void>((resolve) => (finish = resolve));
            },
            timers,
        );
        return { s, timers, syncs, finishSync: async () => (finish?.(), (finish = null), await settle()) };
    }

    it("syncs once, 5 s after the first change of a burst", async () => {
        const { s, timers, syncs } = scheduler();
        s.changed();
        await timers.advance(1000);
        s.changed();
        s.changed();
        await timers.advance(3999);
        assert.deepEqual(syncs, []);
        await timers.advance(1);
        assert.deepEqual(syncs, [5000]);
        await timers.advance(60_000);
        assert.deepEqual(syncs, [5000], "no sync without a change");
    });

    it("is not postponed forever by a steady trickle of changes", async () => {
        const { s, timers, syncs } = scheduler();
        for (let t = 0; t < 12_000; t += 500) {
            s.changed();
            await timers.advance(500);
        }
        assert.deepEqual(syncs, [5000, 10_000]);
    });

    it("syncs again after a sync during which something changed", async () => {
        const { s, timers, syncs, finishSync } = scheduler(2000);
        s.changed();
        await timers.advance(5000);
        assert.deepEqual(syncs, [5000]);
        assert.equal(s.busy, true);
        s.changed();
        assert.equal(s.pending, true);
        await timers.advance(2000);
        await finishSync();
        await timers.advance(4999);
        assert.equal(syncs.length, 1);
        await timers.advance(1);
        assert.equal(syncs.length, 2, "the change made during the first sync gets its own");
        // Worst case for that change: one window after the first sync ended (+ the sync itself).
        assert.ok(syncs[1] - 5000 <= 10_000);
    });

    it("syncs at once on request, folding a waiting window into it", async () => {
        const { s, timers, syncs } = scheduler();
        s.changed();
        await timers.advance(1000);
        await s.now();
        assert.deepEqual(syncs, [1000]);
        await timers.advance(10_000);
        assert.deepEqual(syncs, [1000]);
    });
});

describe("tree watcher", () => {
    async function until(what: string, check: () => boolean): Promise<void> {
        for (let i = 0; i < 100 && !check(); i++) await new Promise((r) => setTimeout(r, 20));
        assert.ok(check(), what);
    }

    it("sees changes deep in a tree, in new directories, and in a root created later", async () => {
        const base = fs.mkdtempSync(path.join(os.tmpdir(), "wirebot-watch-"));
        const workspace = path.join(base, "workspace");
        const later = path.join(base, "not-yet", "secrets");
        fs.mkdirSync(path.join(workspace, "a", "b"), { recursive: true });
        fs.writeFileSync(path.join(base, "unrelated"), "");
        const seen: string[] = [];
        const watcher = new TreeWatcher([workspace, later], (where) => seen.push(where));
        watcher.start();
        try {
            fs.writeFileSync(path.join(workspace, "a", "b", "deep.md"), "x");
            await until("a deep change", () => seen.some((p) => p.endsWith("deep.md")));
            fs.mkdirSync(path.join(workspace, "new"));
            await settle();
            await new Promise((r) => setTimeout(r, 50));
            fs.writeFileSync(path.join(workspace, "new", "inside.md"), "x");
            await until("a change in a new directory", () => seen.some((p) => p.endsWith("inside.md")));
            seen.length = 0;
            fs.writeFileSync(path.join(base, "unrelated"), "changed");
            await new Promise((r) => setTimeout(r, 100));
            assert.deepEqual(seen, [], "a sibling of the roots is not a change");
            fs.mkdirSync(later, { recursive: true });
            await new Promise((r) => setTimeout(r, 50));
            fs.writeFileSync(path.join(later, "token"), "x");
            await until("a change in a root that appeared", () => (seen as string[]).some((p) => p.startsWith(later)));
        } finally {
            watcher.close();
            fs.rmSync(base, { recursive: true, force: true });
        }
    });
});

/** A clock whose sleeps return at once and move virtual time; it records every delay asked for. */
function fakeClock(): AlertClock & { delays: number[] } {
    let now = 0;
    const delays: number[] = [];
    return {
        delays,
        now: () => now,
        sleep: async (ms) => {
            delays.push(ms);
            now += ms;
            await settle();
        },
    };
}

function fakeFetch(statuses: (number | Error | { status: number; headers?: Record<string, string>; body?: string })[]) {
    const calls: { url: string; body: string }[] = [];
    const fn = (async (url: string, init: { body: string }) => {
        calls.push({ url, body: init.body });
        const next = statuses.shift() ?? 204;
        if (next instanceof Error) throw next;
        const spec = typeof next === "number" ? { status: next } : next;
        return new Response(spec.body ?? null, { status: spec.status, headers: spec.headers });
    }) as unknown as typeof fetch;
    return { fn, calls };
}

const WEBHOOK = "https://discord.example/api/webhooks/123/secret-token";

describe("alerts", () => {
    it("back off exponentially, capped", () => {
        assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 8].map((a) => delayFor(a, undefined, 1000, 60_000)), [1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000]);
        assert.equal(delayFor(1, 7000, 1000, 60_000), 7000);
        assert.equal(delayFor(1, 600_000, 1000, 60_000), 60_000);
    });

    it("return before delivery, then deliver in order with retries", async () => {
        const clock = fakeClock();
        const f = fakeFetch([503, new Error("connection refused"), 204, 204]);
        const alerter = new Alerter({ url: WEBHOOK, fetch: f.fn, clock });
        alerter.send("first");
        alerter.send("second");
        assert.equal(f.calls.length, 0, "send() only queues");
        assert.equal(await alerter.flush(600_000), true);
        assert.deepEqual(f.calls.map((c) => JSON.parse(c.body).content), ["first", "first", "first", "second"]);
        assert.deepEqual(clock.delays.filter((d) => d >= 1000), [1000, 2000]);
        assert.equal(JSON.parse(f.calls[0].body).username, "wirebot-failover");
    });

    it("honour a 429's retry-after, from the header or Discord's body", async () => {
        const clock = fakeClock();
        const f = fakeFetch([{ status: 429, headers: { "retry-after": "3" } }, { status: 429, body: JSON.stringify({ retry_after: 1.5 }) }, 204]);
        const alerter = new Alerter({ url: WEBHOOK, fetch: f.fn, clock });
        alerter.send("x");
        await alerter.flush(600_000);
        assert.deepEqual(clock.delays.filter((d) => d >= 1000), [3000, 1500]);
        assert.equal(f.calls.length, 3);
    });

    it("do not retry a refused request, and drop after the last attempt without logging the URL", async () => {
        const lines: string[] = [];
        const f = fakeFetch([400, 500, 500, 500]);
        const alerter = new Alerter({ url: WEBHOOK, fetch: f.fn, clock: fakeClock(), log: (l) => lines.push(l), maxAttempts: 3 });
        alerter.send("refused");
        alerter.send("failing");
        await alerter.flush(600_000);
        assert.equal(f.calls.length, 4, "1 for the 400, 3 for the 500s");
        assert.equal(lines.length, 2);
        assert.match(lines[0], /alert dropped after 1 attempt\(s\) to discord\.example: HTTP 400/);
        assert.match(lines[1], /alert dropped after 3 attempt\(s\) to discord\.example: HTTP 500/);
        assert.ok(lines.every((l) => !l.includes("secret-token")));
    });

    it("cut long text to Discord's limit, and log when no webhook is configured", async () => {
        const f = fakeFetch([204]);
        const alerter = new Alerter({ url: WEBHOOK, fetch: f.fn, clock: fakeClock() });
        alerter.send("x".repeat(5000));
        await alerter.flush(1000);
        const content = JSON.parse(f.calls[0].body).content as string;
        assert.equal(content.length, MAX_CONTENT);
        assert.ok(content.endsWith("…"));
        const lines: string[] = [];
        new Alerter({ url: null, log: (l) => lines.push(l) }).send("took over");
        assert.deepEqual(lines, ["alert (no webhook configured): took over"]);
    });

    it("report a flush that runs out of time", async () => {
        const clock = fakeClock();
        const alerter = new Alerter({ url: WEBHOOK, fetch: fakeFetch([503, 503, 503, 503, 503, 503]).fn, clock });
        alerter.send("x");
        assert.equal(await alerter.flush(2500), false);
    });

    it("reach a real HTTP server through failures", async () => {
        const bodies: string[] = [];
        let requests = 0;
        const server = http.createServer((req, res) => {
            let body = "";
            req.on("data", (c) => (body += c)).on("end", () => {
                requests += 1;
                if (requests <= 2) return res.writeHead(503).end();
                bodies.push(body);
                res.writeHead(204).end();
            });
        });
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
        try {
            const alerter = new Alerter({ url: `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`, baseDelayMs: 10 });
            alerter.send("standby took over in 600 ms");
            assert.equal(await alerter.flush(5000), true);
            assert.equal(requests, 3);
            assert.deepEqual(JSON.parse(bodies[0]), { content: "standby took over in 600 ms", username: "wirebot-failover" });
        } finally {
            server.close();
        }
    });
});

describe("metrics", () => {
    it("renders each figure with its labels through prom-client, leaving unknown ones out", async () => {
        const snapshot = {
            role: "primary" as const,
            heartbeatAgeSeconds: 3.5,
            lastFileSyncSeconds: 1_790_000_000,
            fileSyncOk: true,
            replicationLagSeconds: { "/data/wirebot/scoreboard/events.db": 0.25, "/data/wirebot/mem0/history.db": null },
            lastLettaDumpSeconds: null,
            serving: true,
        };
        const first = await renderMetrics(snapshot);
        const second = await renderMetrics({ ...snapshot, heartbeatAgeSeconds: 1 });
        assert.match(first.contentType, /^text\/plain; version=0\.0\.4/);
        const samples = (body: string) => body.split("\n").filter((l) => l && !l.startsWith("#"));
        assert.deepEqual(samples(first.body), [
            'wirebot_heartbeat_age_seconds{role="primary"} 3.5',
            'wirebot_file_sync_last_success_timestamp_seconds{role="primary"} 1790000000',
            'wirebot_file_sync_ok{role="primary"} 1',
            'wirebot_replication_lag_seconds{database="/data/wirebot/scoreboard/events.db",role="primary"} 0.25',
            'wirebot_serving{role="primary"} 1',
        ]);
        assert.doesNotMatch(first.body, /wirebot_letta_dump/, "no dump yet: no figure, rather than a zero");
        assert.ok(samples(second.body).includes('wirebot_heartbeat_age_seconds{role="primary"} 1'), "each scrape starts from nothing");
    });
});

describe("replication lag from Litestream's LTX files", () => {
    it("is zero when the replica holds the last transaction, else the age of the oldest one it lacks", () => {
        const base = fs.mkdtempSync(path.join(os.tmpdir(), "wirebot-ltx-"));
        const live = path.join(base, "events.db");
        const local = path.join(localStateDir(live), "ltx", "0");
        const replica = path.join(base, "replica");
        fs.mkdirSync(local, { recursive: true });
        fs.mkdirSync(path.join(replica, "ltx", "1"), { recursive: true });
        const write = (dir: string, min: number, max: number, mtimeS: number) => {
            const file = path.join(dir, `${min.toString(16).padStart(16, "0")}-${max.toString(16).padStart(16, "0")}.ltx`);
            fs.writeFileSync(file, "");
            fs.utimesSync(file, mtimeS, mtimeS);
        };
        write(local, 1, 9, 1000);
        write(local, 10, 10, 1010);
        write(local, 11, 12, 1020);
        write(path.join(replica, "ltx", "1"), 1, 9, 1011);
        assert.equal(position(replica), "0000000000000009");
        assert.equal(lagSeconds(live, position(replica), 1030_000), 20, "txid 10 written at 1010 s, still not on the replica at 1030 s");
        assert.equal(lagSeconds(live, position(replica), 1015_000), 5, "as of 1015 s txid 11-12 did not exist yet");
        write(path.join(replica, "ltx", "1"), 10, 12, 1021);
        assert.equal(lagSeconds(live, position(replica), 1030_000), 0);
        assert.equal(lagSeconds(live, null, 1030_000), null);
        fs.rmSync(base, { recursive: true, force: true });
    });
});
