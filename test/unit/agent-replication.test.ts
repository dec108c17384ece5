import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { TreeWatcher } from "../../agent/src/replication/file-watch";
import { lagSeconds, localStateDir, position } from "../../agent/src/replication/ltx-position";
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
