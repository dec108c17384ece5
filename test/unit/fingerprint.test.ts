import { strict as assert } from "node:assert";
import { execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { durableFingerprint, fingerprint, fingerprintDifference } from "../../agent/src/replication/databases";

// What a planned handover compares: the primary's database once writes stopped
// against a restore of the standby's replica, table by table, on real SQLite.

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wirebot-fingerprint-"));
function db(name: string, sql: string): string {
    const file = path.join(dir, name);
    execFileSync("sqlite3", [file, sql]);
    return file;
}
const EVENTS = "create table events (id text primary key, kind text); insert into events values ('a', 'x'), ('b', 'y');";
const LITESTREAM = "create table _litestream_seq (id integer primary key, seq integer); create table _litestream_lock (id integer);";

describe("a database's fingerprint", () => {
    it("is equal for the same rows, whatever Litestream's own bookkeeping says", async () => {
        const live = db("live.db", `${EVENTS} ${LITESTREAM} insert into _litestream_seq values (1, 7);`);
        const restored = db("restored.db", `${EVENTS} ${LITESTREAM} insert into _litestream_seq values (1, 6);`);
        assert.equal(await fingerprint(live), await fingerprint(restored));
        assert.match((await fingerprint(live))!, /^\{"events":"2:[0-9a-f]{64}"\}$/);
    });

    it("differs when a row is missing or changed, and the difference names the table and its rows", async () => {
        const live = db("live2.db", EVENTS);
        const behind = db("behind.db", "create table events (id text primary key, kind text); insert into events values ('a', 'x');");
        const changed = db("changed.db", "create table events (id text primary key, kind text); insert into events values ('a', 'x'), ('b', 'z');");
        assert.equal(fingerprintDifference(await fingerprint(live), await fingerprint(behind)), "events: primary 2 rows, replica 1 rows");
        assert.equal(fingerprintDifference(await fingerprint(live), await fingerprint(changed)), "events: primary 2 rows, replica 2 rows (same count, other content)");
        assert.equal(fingerprintDifference(await fingerprint(live), await fingerprint(live)), "");
    });

    it("names a table the replica lacks, and a missing replica", async () => {
        const live = db("live3.db", `${EVENTS} create table t (x); insert into t values (1);`);
        const older = db("older.db", EVENTS);
        assert.equal(fingerprintDifference(await fingerprint(live), await fingerprint(older)), "t: primary 1 rows, replica absent");
        assert.equal(fingerprintDifference(await fingerprint(live), await fingerprint(path.join(dir, "none.db"))), "no replica");
    });

    it("handles table names that need quoting", async () => {
        const odd = db("odd.db", `create table "it's ""odd""" (x); insert into "it's ""odd""" values (1);`);
        assert.equal(fingerprintDifference(await fingerprint(odd), await fingerprint(odd)), "");
        assert.deepEqual(Object.keys(JSON.parse((await fingerprint(odd))!)), [`it's "odd"`]);
    });
});

// The wal-index header and the read marks: what a writer publishes after its
// commit frame is in the WAL, and what a writer killed in between never wrote.
const WAL_INDEX_HEADER_BYTES = 136;

describe("a database's durable fingerprint", () => {
    it("counts a transaction whose writer died before publishing it, as Litestream and crash recovery do", async () => {
        const live = db("killed-writer.db", `pragma journal_mode=wal; ${EVENTS}`);
        // Another connection keeps the wal-index open, as Litestream's does on a primary.
        const holder = spawn("sqlite3", [live], { stdio: ["pipe", "pipe", "inherit"] });
        try {
            holder.stdin.write("select count(*) from events;\n");
            await new Promise((resolve) => holder.stdout.once("data", resolve));
            const shm = `${live}-shm`;
            const published = fs.readFileSync(shm).subarray(0, WAL_INDEX_HEADER_BYTES);
            execFileSync("sqlite3", [live, "insert into events values ('c', 'z');"]);
            const fd = fs.openSync(shm, "r+");
            fs.writeSync(fd, published, 0, published.length, 0);
            fs.closeSync(fd);

            assert.match((await fingerprint(live))!, /"events":"2:/, "readers of the live file do not see the unpublished commit");
            assert.match((await durableFingerprint(live))!, /"events":"3:/, "the durable copy holds it");
            assert.match((await fingerprint(live))!, /"events":"2:/, "the live file is left as it was");
        } finally {
            holder.kill();
        }
    });

    it("equals the plain fingerprint when every commit was published, and is null without a database", async () => {
        const live = db("published.db", `pragma journal_mode=wal; ${EVENTS}`);
        assert.equal(await durableFingerprint(live), await fingerprint(live));
        assert.equal(await durableFingerprint(path.join(dir, "none.db")), null);
    });
});
