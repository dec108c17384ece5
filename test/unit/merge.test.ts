import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { ASSETS_DIR } from "../../components/templates";

describe("wirebot-merge", () => {
    const merge = path.join(ASSETS_DIR, "host", "wirebot-merge");
    const sql = (db: string, statement: string) => spawnSync("sqlite3", [db, statement], { encoding: "utf8" }).stdout.trim();

    it("adds the rows the target lacks by key, never overwriting, and skips tables without a key", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wirebot-merge-"));
        const source = path.join(dir, "standby.db");
        const target = path.join(dir, "primary.db");
        sql(source, "CREATE TABLE events (id TEXT PRIMARY KEY, kind TEXT); INSERT INTO events VALUES ('a','standby'),('b','standby'),('c','standby'); CREATE TABLE scratch (x); INSERT INTO scratch VALUES (1); CREATE TABLE streaks (user TEXT PRIMARY KEY, days INT); INSERT INTO streaks VALUES ('u', 9);");
        sql(target, "PRAGMA journal_mode=WAL; CREATE TABLE events (id TEXT PRIMARY KEY, kind TEXT); INSERT INTO events VALUES ('a','primary'),('z','primary'); CREATE TABLE scratch (x);");
        const env = { ...process.env, WIREBOT_DATA_OWNER: "root" };
        const first = spawnSync("sh", [merge, source, target], { encoding: "utf8", env });
        assert.equal(first.status, 0, first.stderr);
        assert.match(first.stdout, /3 new row\(s\) in 2 keyed table\(s\); skipped tables without a key: scratch/);
        assert.equal(sql(target, "SELECT group_concat(id || ':' || kind, ' ') FROM (SELECT * FROM events ORDER BY id)"), "a:primary b:standby c:standby z:primary");
        assert.equal(sql(target, "SELECT days FROM streaks WHERE user = 'u'"), "9", "a table new on the source comes across");
        assert.equal(sql(target, "SELECT count(*) FROM scratch"), "0");
        const again = spawnSync("sh", [merge, source, target], { encoding: "utf8", env });
        assert.match(again.stdout, /0 new row\(s\)/, "merging twice changes nothing");
        const fresh = spawnSync("sh", [merge, source, path.join(dir, "tenants", "t1", "events.db")], { encoding: "utf8", env });
        assert.match(fresh.stdout, /new database, copied whole/);
        assert.equal(sql(path.join(dir, "tenants", "t1", "events.db"), "SELECT count(*) FROM events"), "3");
        fs.rmSync(dir, { recursive: true, force: true });
    });
});
