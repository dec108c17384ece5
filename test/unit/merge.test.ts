import { strict as assert } from "node:assert";
import { spawnSync, SpawnSyncReturns } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it, TestContext } from "node:test";
import { HOST_DIR } from "../../src/render/templates";

// wirebot-merge against the real sqlite3: every merge either applies all of
// SOURCE's changes with integrity_check ok, or refuses with a report and leaves
// TARGET exactly as it was.

const MERGE = path.join(HOST_DIR, "bin", "wirebot-merge");

function sql(db: string, statement: string): string {
    const r = spawnSync("sqlite3", ["-bail", db], { input: statement, encoding: "utf8" });
    assert.equal(r.status, 0, `sqlite3 ${db}: ${r.stderr}`);
    return r.stdout.trim();
}

/** The rows of a query, one string a row, fields joined by "|". */
const rows = (db: string, query: string) => sql(db, query).split("\n").filter(Boolean);

/** The database's content (sqlite3 .sha3sum, schema included) and its file's bytes (SHA3-256). */
function fingerprint(db: string) {
    const bytes = crypto.createHash("sha3-256").update(fs.readFileSync(db)).digest("hex");
    return { content: sql(db, ".sha3sum --schema"), bytes };
}

const integrity = (db: string) => sql(db, "PRAGMA integrity_check;");

function merge(...args: string[]): SpawnSyncReturns<string> {
    return spawnSync("sh", [MERGE, ...args], { encoding: "utf8", env: { ...process.env, WIREBOT_DATA_OWNER: "root" } });
}

/**
 * The failback's three databases: BASE as the standby restored it when it took
 * over, SOURCE the standby's export after it served (BASE plus `standby`),
 * TARGET the primary's database (BASE plus what it wrote meanwhile, `primary`).
 */
function sides(t: TestContext, setup: string, standby: string, primary: string) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wirebot-merge-"));
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const base = path.join(dir, "base.db");
    const source = path.join(dir, "standby.db");
    const target = path.join(dir, "primary.db");
    sql(base, `PRAGMA journal_mode=WAL; ${setup}`);
    fs.copyFileSync(base, source);
    fs.copyFileSync(base, target);
    if (standby) sql(source, standby);
    if (primary) sql(target, primary);
    return { dir, base, source, target };
}

/** A merge that succeeded: its one-line summary (handover.ts reads its first words), integrity ok, SOURCE untouched. */
function merged(r: SpawnSyncReturns<string>, source: string, target: string, summary: RegExp) {
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^merged ${source.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} into `));
    assert.equal(r.stdout.trim().split("\n").length, 1, "one line on stdout");
    assert.match(r.stdout, summary);
    assert.equal(integrity(target), "ok");
}

/** A merge that refused: status 1, the report on stderr, TARGET unchanged to the byte and still sound. */
async function refused(r: SpawnSyncReturns<string>, target: string, before: Awaited<ReturnType<typeof fingerprint>>, report: RegExp): Promise<void> {
    assert.equal(r.status, 1, `expected a refusal; stdout: ${r.stdout}`);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /refused to merge .* nothing changed/);
    assert.match(r.stderr, report);
    assert.deepEqual(await fingerprint(target), before, "TARGET is unchanged");
    assert.equal(integrity(target), "ok");
}

describe("wirebot-merge: event tables by UUID", () => {
    const SETUP = "CREATE TABLE events (id TEXT PRIMARY KEY, kind TEXT, payload TEXT); INSERT INTO events VALUES ('e1', 'signup', '{}');";

    it("adds the events the primary lacks, keeps identical ones, and leaves Litestream's tables alone", async (t) => {
        const { source, target } = sides(
            t,
            `${SETUP} CREATE TABLE _litestream_seq (id INTEGER PRIMARY KEY, seq INTEGER); INSERT INTO _litestream_seq VALUES (1, 10);`,
            "INSERT INTO events VALUES ('s1', 'chat', '{\"n\":1}'), ('both', 'chat', '{}'); UPDATE _litestream_seq SET seq = 99;",
            "INSERT INTO events VALUES ('p1', 'chat', '{}'), ('both', 'chat', '{}'); UPDATE _litestream_seq SET seq = 42;",
        );
        const sourceBefore = await fingerprint(source);
        merged(merge(source, target), source, target, /: 1 new row\(s\), 0 updated, 0 deleted in 1 of 1 table\(s\)$/m);
        assert.deepEqual(rows(target, "SELECT id FROM events ORDER BY id"), ["both", "e1", "p1", "s1"]);
        assert.equal(sql(target, "SELECT payload FROM events WHERE id = 's1'"), '{"n":1}');
        assert.equal(sql(target, "SELECT seq FROM _litestream_seq"), "42", "Litestream's bookkeeping stays the primary's");
        assert.deepEqual(await fingerprint(source), sourceBefore, "SOURCE is only read");

        const before = await fingerprint(target);
        const again = merge(source, target);
        merged(again, source, target, /: 0 new row\(s\), 0 updated, 0 deleted .*nothing to merge/);
        assert.deepEqual(await fingerprint(target), before, "merging twice changes nothing, not even a byte");
    });

    it("refuses an event id that both sides hold with different content, naming table and key", async (t) => {
        const { source, target, base } = sides(
            t,
            SETUP,
            "INSERT INTO events VALUES ('s1', 'chat', '{}'), ('dup', 'chat', 'standby');",
            "INSERT INTO events VALUES ('dup', 'chat', 'primary');",
        );
        const before = await fingerprint(target);
        await refused(merge(source, target), target, before, /1 conflict\(s\)[\s\S]*table events, "id"='dup': TARGET holds a different row with this key/);
        await refused(merge(source, target, base), target, before, /table events, "id"='dup': added in SOURCE and in TARGET with different content/);
        assert.equal(sql(target, "SELECT count(*) FROM events WHERE id = 's1'"), "0", "nothing of the merge was applied");
    });

    it("does not fire TARGET's triggers again: SOURCE's rows already carry what they did", async (t) => {
        const { source, target, base } = sides(
            t,
            `${SETUP} CREATE TABLE audit (id INTEGER PRIMARY KEY, event TEXT);
             CREATE TRIGGER events_audit AFTER INSERT ON events BEGIN INSERT INTO audit (event) VALUES (new.id); END;`,
            "INSERT INTO events VALUES ('s1', 'chat', '{}');",
            "",
        );
        merged(merge(source, target, base), source, target, /: 2 new row\(s\)/);
        assert.deepEqual(rows(target, "SELECT id, event FROM audit"), ["1|s1"], "one audit row, the standby's");
        sql(target, "INSERT INTO events VALUES ('p2', 'chat', '{}')");
        assert.deepEqual(rows(target, "SELECT event FROM audit ORDER BY id"), ["s1", "p2"], "the trigger is back in place");
    });
});

describe("wirebot-merge: integer keys", () => {
    const SETUP = "CREATE TABLE posts (id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT); INSERT INTO posts (body) VALUES ('one'), ('two');";

    it("adds rows under new keys with their ids, so references to them hold", async (t) => {
        const { source, target, base } = sides(t, SETUP, "INSERT INTO posts (body) VALUES ('three'), ('four');", "");
        merged(merge(source, target, base), source, target, /: 2 new row\(s\)/);
        assert.deepEqual(rows(target, "SELECT id, body FROM posts ORDER BY id"), ["1|one", "2|two", "3|three", "4|four"]);
        assert.equal(sql(target, "SELECT seq FROM sqlite_sequence WHERE name = 'posts'"), "4", "AUTOINCREMENT continues after the merged rows");
    });

    it("refuses a key both sides used for different rows, never dropping the standby's", async (t) => {
        const { source, target, base } = sides(t, SETUP, "INSERT INTO posts (body) VALUES ('standby three'), ('standby four');", "INSERT INTO posts (body) VALUES ('primary three');");
        const before = await fingerprint(target);
        await refused(merge(source, target, base), target, before, /table posts, "id"=3: added in SOURCE and in TARGET with different content/);
        await refused(merge(source, target), target, before, /table posts, "id"=3: TARGET holds a different row/);
        assert.doesNotMatch(merge(source, target).stderr, /"id"=4/, "the row the primary does not hold is no conflict");
    });

    it("refuses a row the standby added whose parent row the primary deleted (foreign key)", async (t) => {
        const { source, target, base } = sides(
            t,
            `${SETUP} CREATE TABLE comments (id INTEGER PRIMARY KEY, post INTEGER REFERENCES posts(id), body TEXT);`,
            "INSERT INTO comments VALUES (1, 2, 'on two');",
            "DELETE FROM posts WHERE id = 2;",
        );
        await refused(merge(source, target, base), target, await fingerprint(target), /table comments, rowid=1: refers to a row of posts that TARGET does not hold/);
    });
});

describe("wirebot-merge: updates and deletes on the standby", () => {
    const SETUP = "CREATE TABLE streaks (user TEXT PRIMARY KEY, days INTEGER, updated TEXT); INSERT INTO streaks VALUES ('u1', 1, 'b'), ('u2', 1, 'b'), ('u3', 1, 'b'), ('u4', 1, 'b');";

    it("with BASE applies rows changed or deleted on the standby only and keeps the primary's changes", async (t) => {
        const { source, target, base } = sides(
            t,
            SETUP,
            "UPDATE streaks SET days = 5, updated = 's' WHERE user = 'u1'; DELETE FROM streaks WHERE user = 'u2'; INSERT INTO streaks VALUES ('u5', 1, 's');",
            "UPDATE streaks SET days = 9, updated = 'p' WHERE user = 'u3'; INSERT INTO streaks VALUES ('u6', 1, 'p');",
        );
        merged(merge(source, target, base), source, target, /: 1 new row\(s\), 1 updated, 1 deleted in 1 of 1 table\(s\)/);
        assert.deepEqual(rows(target, "SELECT user, days, updated FROM streaks ORDER BY user"), ["u1|5|s", "u3|9|p", "u4|1|b", "u5|1|s", "u6|1|p"]);
    });

    it("refuses rows both sides changed, or one changed and the other deleted", async (t) => {
        const { source, target, base } = sides(
            t,
            SETUP,
            "UPDATE streaks SET days = 5 WHERE user IN ('u1', 'u2'); DELETE FROM streaks WHERE user = 'u3'; UPDATE streaks SET days = 2 WHERE user = 'u4';",
            "UPDATE streaks SET days = 7 WHERE user = 'u1'; DELETE FROM streaks WHERE user = 'u2'; UPDATE streaks SET days = 8 WHERE user = 'u3';",
        );
        const r = merge(source, target, base);
        await refused(r, target, await fingerprint(target), /3 conflict\(s\)/);
        assert.match(r.stderr, /table streaks, "user"='u1': changed in SOURCE and in TARGET, differently/);
        assert.match(r.stderr, /table streaks, "user"='u2': changed in SOURCE, deleted in TARGET/);
        assert.match(r.stderr, /table streaks, "user"='u3': deleted in SOURCE, changed in TARGET/);
        assert.doesNotMatch(r.stderr, /'u4'/, "u4 changed on the standby only");
    });

    it("without BASE refuses a changed row rather than losing the change", async (t) => {
        const { source, target } = sides(t, SETUP, "UPDATE streaks SET days = 5 WHERE user = 'u1'; INSERT INTO streaks VALUES ('u5', 1, 's');", "");
        await refused(merge(source, target), target, await fingerprint(target), /1 conflict\(s\)[\s\S]*"user"='u1': TARGET holds a different row with this key, and without BASE/);
    });
});

describe("wirebot-merge: tables without a key", () => {
    const SETUP = "CREATE TABLE tags (name TEXT, weight INTEGER); INSERT INTO tags VALUES ('a', 1), ('a', 1), ('b', 2);";

    it("refuses differing rows without BASE instead of skipping the table", async (t) => {
        const { source, target } = sides(t, SETUP, "INSERT INTO tags VALUES ('c', 3);", "");
        await refused(merge(source, target), target, await fingerprint(target), /table tags, \(no key\): 1 distinct row\(s\) only in SOURCE, 0 only in TARGET: a table without a key cannot be merged row by row/);
    });

    it("merges nothing when both sides hold the same rows", async (t) => {
        const { source, target } = sides(t, SETUP, "INSERT INTO tags VALUES ('c', 3);", "INSERT INTO tags VALUES ('c', 3);");
        merged(merge(source, target), source, target, /nothing to merge/);
    });

    it("with BASE takes the standby's rows when only the standby changed them, and refuses when both did", async (t) => {
        const one = sides(t, SETUP, "DELETE FROM tags WHERE rowid = 1; INSERT INTO tags VALUES ('c', 3);", "");
        merged(merge(one.source, one.target, one.base), one.source, one.target, /replaced whole tags/);
        assert.deepEqual(rows(one.target, "SELECT name, weight FROM tags ORDER BY name"), ["a|1", "b|2", "c|3"]);

        const two = sides(t, SETUP, "INSERT INTO tags VALUES ('c', 3);", "INSERT INTO tags VALUES ('d', 4);");
        await refused(merge(two.source, two.target, two.base), two.target, await fingerprint(two.target), /table tags, \(no key\): 1 distinct row\(s\) only in SOURCE, 1 only in TARGET.*since BASE/);
    });
});

describe("wirebot-merge: full-text tables (FTS5)", () => {
    const EXTERNAL = `CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);
        CREATE VIRTUAL TABLE notes_fts USING fts5(body, content='notes', content_rowid='id');
        CREATE TRIGGER notes_ai AFTER INSERT ON notes BEGIN INSERT INTO notes_fts(rowid, body) VALUES (new.id, new.body); END;
        CREATE TRIGGER notes_ad AFTER DELETE ON notes BEGIN INSERT INTO notes_fts(notes_fts, rowid, body) VALUES ('delete', old.id, old.body); END;
        INSERT INTO notes VALUES (1, 'alpha beta'), (2, 'gamma delta');`;
    const ftsOk = (db: string, table: string) => sql(db, `INSERT INTO ${table}(${table}) VALUES ('integrity-check'); SELECT 'ok';`);

    it("merges an external-content index's content table and rebuilds the index from it", async (t) => {
        const { source, target, base } = sides(t, EXTERNAL, "INSERT INTO notes VALUES (3, 'standby words');", "INSERT INTO notes VALUES (4, 'primary words');");
        merged(merge(source, target, base), source, target, /: 1 new row\(s\).*full-text index rebuilt notes_fts/);
        assert.equal(ftsOk(target, "notes_fts"), "ok");
        assert.deepEqual(rows(target, "SELECT rowid FROM notes_fts WHERE notes_fts MATCH 'words' ORDER BY rowid"), ["3", "4"]);
        sql(target, "INSERT INTO notes VALUES (5, 'later words')");
        assert.equal(ftsOk(target, "notes_fts"), "ok", "the sync triggers are back");
        assert.deepEqual(rows(target, "SELECT rowid FROM notes_fts WHERE notes_fts MATCH 'words' ORDER BY rowid"), ["3", "4", "5"]);
    });

    it("merges an own-content index through the module by rowid, never its shadow tables", async (t) => {
        const OWN = "CREATE VIRTUAL TABLE memo USING fts5(text, ref UNINDEXED); INSERT INTO memo(rowid, text, ref) VALUES (1, 'alpha', 'a'), (2, 'beta', 'b');";
        const { source, target, base } = sides(t, OWN, "INSERT INTO memo(rowid, text, ref) VALUES (3, 'standby note', 's'); DELETE FROM memo WHERE rowid = 1;", "INSERT INTO memo(rowid, text, ref) VALUES (4, 'primary note', 'p');");
        merged(merge(source, target, base), source, target, /: 1 new row\(s\), 0 updated, 1 deleted in 1 of 1 table\(s\)/);
        assert.equal(ftsOk(target, "memo"), "ok");
        assert.deepEqual(rows(target, "SELECT rowid, ref FROM memo WHERE memo MATCH 'note' ORDER BY rowid"), ["3|s", "4|p"]);
        assert.deepEqual(rows(target, "SELECT rowid FROM memo ORDER BY rowid"), ["2", "3", "4"]);
    });

    it("refuses rowids both sides used in an own-content index, leaving the index intact", async (t) => {
        const OWN = "CREATE VIRTUAL TABLE memo USING fts5(text); INSERT INTO memo(rowid, text) VALUES (1, 'alpha');";
        const { source, target } = sides(t, OWN, "INSERT INTO memo(rowid, text) VALUES (2, 'standby');", "INSERT INTO memo(rowid, text) VALUES (2, 'primary');");
        await refused(merge(source, target), target, await fingerprint(target), /table memo, "rowid"=2: TARGET holds a different row/);
        assert.equal(ftsOk(target, "memo"), "ok");
    });

    it("creates a full-text table new on the standby and fills it", async (t) => {
        const { source, target } = sides(t, "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes VALUES (1, 'alpha');", "CREATE VIRTUAL TABLE notes_fts USING fts5(body, content='notes', content_rowid='id'); INSERT INTO notes_fts(notes_fts) VALUES ('rebuild');", "");
        merged(merge(source, target), source, target, /created notes_fts.*full-text index rebuilt notes_fts/);
        assert.equal(ftsOk(target, "notes_fts"), "ok");
        assert.deepEqual(rows(target, "SELECT rowid FROM notes_fts WHERE notes_fts MATCH 'alpha'"), ["1"]);
    });
});

describe("wirebot-merge: virtual tables sqlite3 cannot load", () => {
    // A vector index as sqlite-vec makes it: a vec0 table (declared here by
    // hand, as sqlite3 has no such module) and its shadow tables.
    const VEC = `CREATE TABLE chunks (id TEXT PRIMARY KEY, text TEXT);
        CREATE TABLE chunks_vec_info (key TEXT PRIMARY KEY, value);
        CREATE TABLE chunks_vec_rowids (rowid INTEGER PRIMARY KEY, id TEXT, chunk_id INTEGER);
        INSERT INTO chunks VALUES ('c1', 'one'); INSERT INTO chunks_vec_info VALUES ('version', 1); INSERT INTO chunks_vec_rowids VALUES (1, 'c1', 1);
        PRAGMA writable_schema = ON;
        INSERT INTO sqlite_schema VALUES ('table', 'chunks_vec', 'chunks_vec', 0, 'CREATE VIRTUAL TABLE chunks_vec USING vec0(id TEXT PRIMARY KEY, embedding float[4])');
        PRAGMA writable_schema = OFF;`;

    it("leaves them alone when the standby did not change them, and merges the other tables", async (t) => {
        const { source, target } = sides(t, VEC, "INSERT INTO chunks VALUES ('c2', 'two');", "");
        merged(merge(source, target), source, target, /: 1 new row\(s\), 0 updated, 0 deleted in 1 of 2 table\(s\)/);
        assert.deepEqual(rows(target, "SELECT id FROM chunks_vec_rowids"), ["c1"]);
    });

    it("refuses their shadow tables changed on both sides, and with BASE takes them whole when only the standby changed them", async (t) => {
        const both = sides(t, VEC, "INSERT INTO chunks_vec_rowids VALUES (2, 'c2', 1);", "INSERT INTO chunks_vec_rowids VALUES (2, 'c3', 1);");
        await refused(merge(both.source, both.target, both.base), both.target, await fingerprint(both.target), /table chunks_vec, \(virtual table\): module vec0 keeps its data in shadow tables \(chunks_vec_info, chunks_vec_rowids\)/);

        const one = sides(t, VEC, "INSERT INTO chunks VALUES ('c2', 'two'); INSERT INTO chunks_vec_rowids VALUES (2, 'c2', 1);", "");
        await refused(merge(one.source, one.target), one.target, await fingerprint(one.target), /without BASE only identical ones are safe/);
        merged(merge(one.source, one.target, one.base), one.source, one.target, /replaced whole chunks_vec/);
        assert.deepEqual(rows(one.target, "SELECT id FROM chunks_vec_rowids ORDER BY rowid"), ["c1", "c2"]);
    });
});

describe("wirebot-merge: schema changes", () => {
    const SETUP = "CREATE TABLE events (id TEXT PRIMARY KEY, kind TEXT); INSERT INTO events VALUES ('e1', 'signup');";

    it("merges into a table the primary added a column to; the column takes its default", async (t) => {
        const { source, target, base } = sides(t, SETUP, "INSERT INTO events VALUES ('s1', 'chat');", "ALTER TABLE events ADD COLUMN score INTEGER NOT NULL DEFAULT 0; UPDATE events SET score = 5;");
        merged(merge(source, target, base), source, target, /: 1 new row\(s\)/);
        assert.deepEqual(rows(target, "SELECT id, kind, score FROM events ORDER BY id"), ["e1|signup|5", "s1|chat|0"]);
    });

    it("refuses a column only the standby has once it holds values, and merges while it is empty", async (t) => {
        const filled = sides(t, SETUP, "ALTER TABLE events ADD COLUMN score INTEGER; INSERT INTO events VALUES ('s1', 'chat', 3);", "");
        await refused(merge(filled.source, filled.target, filled.base), filled.target, await fingerprint(filled.target), /table events, \(schema\): column\(s\) "score" only in SOURCE hold values that TARGET has no column for/);

        const empty = sides(t, SETUP, "ALTER TABLE events ADD COLUMN score INTEGER; INSERT INTO events VALUES ('s1', 'chat', NULL);", "");
        merged(merge(empty.source, empty.target, empty.base), empty.source, empty.target, /: 1 new row\(s\)/);
    });

    it("creates a table new on the standby with its index and trigger, rows included, keyed or not", async (t) => {
        const { source, target } = sides(
            t,
            SETUP,
            `CREATE TABLE badges (id INTEGER PRIMARY KEY, user TEXT, name TEXT); CREATE INDEX badges_user ON badges(user);
             CREATE TABLE log (line TEXT); CREATE TRIGGER badges_log AFTER INSERT ON badges BEGIN INSERT INTO log VALUES (new.name); END;
             INSERT INTO badges VALUES (1, 'u1', 'first');`,
            "",
        );
        merged(merge(source, target), source, target, /: 1 new row\(s\), 0 updated, 0 deleted in 2 of 3 table\(s\); created badges, log; replaced whole log/);
        assert.deepEqual(rows(target, "SELECT name FROM sqlite_schema WHERE name IN ('badges_user', 'badges_log') ORDER BY name"), ["badges_log", "badges_user"]);
        assert.deepEqual(rows(target, "SELECT line FROM log"), ["first"], "the standby's log row, once");
    });

    it("refuses when a table is keyed differently on the two sides", async (t) => {
        const { source, target } = sides(t, "CREATE TABLE kv (k TEXT, v TEXT);", "INSERT INTO kv VALUES ('a', '1');", "CREATE UNIQUE INDEX kv_k ON kv(k);");
        // kv_k is on a nullable column, so TARGET's table has no key either: the rows decide.
        await refused(merge(source, target), target, await fingerprint(target), /table kv, \(no key\)/);
        const keyed = sides(t, "CREATE TABLE kv (k TEXT NOT NULL, v TEXT);", "INSERT INTO kv VALUES ('a', '1');", "CREATE UNIQUE INDEX kv_k ON kv(k);");
        await refused(merge(keyed.source, keyed.target), keyed.target, await fingerprint(keyed.target), /table kv, \(schema\): keyed by \(\) in SOURCE but by \("k"\) in TARGET/);
    });
});

describe("wirebot-merge: new databases and failures", () => {
    it("copies a database the primary does not have yet, without Litestream's tables", async (t) => {
        const { dir, source } = sides(t, "CREATE TABLE events (id TEXT PRIMARY KEY); INSERT INTO events VALUES ('t1'); CREATE TABLE _litestream_lock (id INTEGER);", "", "");
        const fresh = path.join(dir, "tenants", "t1", "events.db");
        const r = merge(source, fresh);
        assert.equal(r.status, 0, r.stderr);
        assert.equal(r.stdout, `merged ${source} into ${fresh}: new database, copied whole\n`);
        assert.deepEqual(rows(fresh, "SELECT name FROM sqlite_schema WHERE type = 'table'"), ["events"]);
        assert.equal(sql(fresh, "SELECT id FROM events"), "t1");
        assert.equal(integrity(fresh), "ok");
        assert.deepEqual(fs.readdirSync(path.dirname(fresh)), ["events.db"], "no temporary copy left behind");
    });

    it("refuses and rolls back when TARGET fails integrity_check after the merge", async (t) => {
        const { source, target, base } = sides(t, "CREATE TABLE events (id TEXT PRIMARY KEY, kind TEXT); CREATE INDEX events_kind ON events(kind); INSERT INTO events VALUES ('e1', 'a'), ('e2', 'b');", "INSERT INTO events VALUES ('s1', 'c');", "");
        // An index whose entries no longer match its definition: the kind of damage integrity_check finds.
        sql(target, "PRAGMA writable_schema = ON; UPDATE sqlite_schema SET sql = 'CREATE INDEX events_kind ON events(id)' WHERE name = 'events_kind';");
        const before = await fingerprint(target);
        const r = merge(source, target, base);
        assert.equal(r.status, 1);
        assert.match(r.stderr, /refused to merge[\s\S]*TARGET would fail its integrity check after the merge:\n {2}\S/);
        assert.deepEqual(await fingerprint(target), before, "TARGET is unchanged");
    });

    it("rejects bad arguments and a missing BASE before touching anything", async (t) => {
        const { source, target } = sides(t, "CREATE TABLE e (id TEXT PRIMARY KEY);", "", "");
        assert.equal(merge(source).status, 2);
        const before = await fingerprint(target);
        const r = merge(source, target, `${target}.missing`);
        assert.equal(r.status, 1);
        assert.match(r.stderr, /no database at .*missing \(BASE\)/);
        assert.deepEqual(await fingerprint(target), before);
    });
});
