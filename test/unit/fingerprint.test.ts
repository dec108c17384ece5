import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { fingerprint, fingerprintDifference } from "../../agent/src/replication/databases";

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
    it("is equal for the same rows, whatever Litestream's own bookkeeping says", () => {
        const live = db("live.db", `${EVENTS} ${LITESTREAM} insert into _litestream_seq values (1, 7);`);
        const restored = db("restored.db", `${EVENTS} ${LITESTREAM} insert into _litestream_seq values (1, 6);`);
        assert.equal(fingerprint(live), fingerprint(restored));
        assert.match(fingerprint(live)!, /^\{"events":"2:[0-9a-f]{64}"\}$/);
    });

    it("differs when a row is missing or changed, and the difference names the table and its rows", () => {
        const live = db("live2.db", EVENTS);
        const behind = db("behind.db", "create table events (id text primary key, kind text); insert into events values ('a', 'x');");
        const changed = db("changed.db", "create table events (id text primary key, kind text); insert into events values ('a', 'x'), ('b', 'z');");
        assert.equal(fingerprintDifference(fingerprint(live), fingerprint(behind)), "events: primary 2 rows, replica 1 rows");
        assert.equal(fingerprintDifference(fingerprint(live), fingerprint(changed)), "events: primary 2 rows, replica 2 rows (same count, other content)");
        assert.equal(fingerprintDifference(fingerprint(live), fingerprint(live)), "");
    });

    it("names a table the replica lacks, and a missing replica", () => {
        const live = db("live3.db", `${EVENTS} create table t (x); insert into t values (1);`);
        const older = db("older.db", EVENTS);
        assert.equal(fingerprintDifference(fingerprint(live), fingerprint(older)), "t: primary 1 rows, replica absent");
        assert.equal(fingerprintDifference(fingerprint(live), fingerprint(path.join(dir, "none.db"))), "no replica");
    });

    it("handles table names that need quoting", () => {
        const odd = db("odd.db", `create table "it's ""odd""" (x); insert into "it's ""odd""" values (1);`);
        assert.equal(fingerprintDifference(fingerprint(odd), fingerprint(odd)), "");
        assert.deepEqual(Object.keys(JSON.parse(fingerprint(odd)!)), [`it's "odd"`]);
    });
});
