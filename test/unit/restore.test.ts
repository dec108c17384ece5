import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { before, describe, it } from "node:test";
import { replicateOnce, sql } from "./litestream-replica";
import { HOST_DIR } from "../../src/render/templates";

// wirebot-restore with the real Litestream and sqlite3: one replica is made by
// litestream replicate, then copied wherever a test needs one.

const RESTORE = path.join(HOST_DIR, "bin", "wirebot-restore");

/** A replica directory of a database with `rows` events, padded to about 1 MB. */
async function makeReplica(dir: string, rows: number): Promise<string> {
    const db = path.join(dir, "source.db");
    sql(db, `PRAGMA journal_mode=WAL; CREATE TABLE events (id TEXT PRIMARY KEY, pad BLOB); ${Array.from({ length: rows }, (_, i) => `INSERT INTO events VALUES ('e${i}', zeroblob(100000));`).join(" ")}`);
    const replica = path.join(dir, "replica");
    const config = path.join(dir, "litestream.yml");
    fs.writeFileSync(config, `dbs:\n  - path: ${db}\n    replicas:\n      - url: file://${replica}\n        sync-interval: 100ms\n`);
    await replicateOnce(config, replica);
    return replica;
}

interface Host {
    root: string;
    list: string;
    live: string;
}

/** A standby's layout: the live database's directory, the replica of it, the list naming both. */
function host(replica: string): Host {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "wirebot-restore-"));
    const live = path.join(root, "data", "events.db");
    const copy = path.join(root, "replica", "events.db");
    fs.mkdirSync(path.dirname(copy), { recursive: true });
    fs.cpSync(replica, copy, { recursive: true });
    const list = path.join(root, "replicas.list");
    fs.writeFileSync(list, `${live} ${copy}\ntenants ${path.join(root, "data", "tenants")}=${path.join(root, "replica", "tenants")}\n`);
    return { root, list, live };
}

/** Runs wirebot-restore; `mounts` are tmpfs sizes by path, mounted in a namespace of its own first. */
function restore(h: Host, mounts: Record<string, string> = {}, env: Record<string, string> = {}) {
    const lines = Object.entries(mounts).map(([target, size]) => `mkdir -p '${target}' && mount -t tmpfs -o size=${size} tmpfs '${target}'`);
    const body = ["set -e", ...lines, `exec sh '${RESTORE}' '${h.list}'`].join("\n");
    const r = spawnSync("unshare", ["--mount", "--propagation", "private", "sh", "-c", body], { encoding: "utf8", env: { ...process.env, WIREBOT_DATA_OWNER: "root", ...env } });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Tenants' replicas (copies of `replica`) in the host's tenants replica directory; their live paths. */
function tenants(h: Host, replica: string, names: string[]): Record<string, string> {
    const live: Record<string, string> = {};
    for (const name of names) {
        fs.cpSync(replica, path.join(h.root, "replica", "tenants", name, "events.db"), { recursive: true });
        live[name] = path.join(h.root, "data", "tenants", name, "events.db");
    }
    return live;
}

/** A tenant's live database as it was before the restore: one row of its own. */
function liveTenant(file: string): void {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    sql(file, "CREATE TABLE mine (x); INSERT INTO mine VALUES ('before');");
}

/** Every LTX file of a replica, by level. */
function ltxFiles(replicaDir: string): string[] {
    const ltx = path.join(replicaDir, "ltx");
    return fs.readdirSync(ltx).flatMap((level) => fs.readdirSync(path.join(ltx, level)).map((file) => path.join(ltx, level, file)));
}

/** Overwrites what follows the header of every LTX file of a tenant's replica: sized as before, unreadable to Litestream. */
function corrupt(h: Host, name: string): void {
    for (const file of ltxFiles(path.join(h.root, "replica", "tenants", name, "events.db"))) {
        const bytes = fs.readFileSync(file);
        bytes.fill(0x5a, 100);
        fs.writeFileSync(file, bytes);
    }
}

describe("wirebot-restore", () => {
    let replica = "";
    before(async () => {
        replica = await makeReplica(fs.mkdtempSync(path.join(os.tmpdir(), "wirebot-replica-")), 10);
    });

    it("restores a database and keeps the newest two copies moved aside, removing older ones", () => {
        const h = host(replica);
        fs.mkdirSync(path.dirname(h.live), { recursive: true });
        sql(h.live, "CREATE TABLE stale (x);");
        const aside = (stamp: string, suffix = "") => `${h.live}${suffix}.pre-restore-${stamp}`;
        for (const stamp of ["20250101T000000Z", "20250102T000000Z", "20250103T000000Z"]) fs.writeFileSync(aside(stamp), "old");
        fs.writeFileSync(aside("20250101T000000Z", "-wal"), "old wal");
        const r = restore(h);
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stdout, /restored .*events\.db from /);
        assert.equal(sql(h.live, "SELECT count(*) FROM events;"), "10");
        const left = fs.readdirSync(path.dirname(h.live)).filter((n) => n.includes(".pre-restore-")).sort();
        assert.equal(left.length, 2, left.join(", "));
        assert.equal(left[0], "events.db.pre-restore-20250103T000000Z", "the newest older copy stays");
        assert.match(left[1], /^events\.db\.pre-restore-\d{8}T\d{6}Z$/, "the copy this restore moved aside stays");
        assert.notEqual(left[1], left[0]);
    });

    it("refuses to restore anything while a listed database has no replica; no tenant at all is fine", () => {
        const h = host(replica);
        const memory = path.join(h.root, "data", "memory.sqlite");
        const emptyReplica = path.join(h.root, "replica", "memory.sqlite");
        fs.mkdirSync(emptyReplica, { recursive: true });
        const mem0 = path.join(h.root, "data", "history.db");
        fs.appendFileSync(h.list, `${memory} ${emptyReplica}\n${mem0} ${path.join(h.root, "replica", "history.db")}\n`);
        fs.mkdirSync(path.join(h.root, "replica", "tenants"));
        fs.mkdirSync(path.dirname(h.live), { recursive: true });
        sql(h.live, "CREATE TABLE mine (x); INSERT INTO mine VALUES (1);");
        const r = restore(h);
        assert.equal(r.status, 1, r.stdout);
        assert.match(r.stderr, new RegExp(`no replica of ${memory} \\(nothing at ${emptyReplica}\\), ${mem0} \\(nothing at .*history\\.db\\): serving without it would serve an empty database.*nothing was restored`));
        assert.equal(sql(h.live, "SELECT count(*) FROM mine;"), "1", "the live database is as it was");
        assert.deepEqual(fs.readdirSync(path.dirname(h.live)), ["events.db"], "nothing was moved aside");

        fs.writeFileSync(h.list, fs.readFileSync(h.list, "utf8").split("\n").filter((l) => !l.includes("memory.sqlite") && !l.includes("history.db")).join("\n"));
        const ok = restore(h);
        assert.equal(ok.status, 0, ok.stderr);
        assert.equal(sql(h.live, "SELECT count(*) FROM events;"), "10", "restored, with an empty tenants replica directory");
    });

    it("refuses before restoring anything when the filesystem lacks room for the databases and the margin", () => {
        const h = host(replica);
        fs.mkdirSync(path.dirname(h.live), { recursive: true });
        const data = path.dirname(h.live);
        // The live directory is a small filesystem; the database is written in it once the tmpfs is up.
        const r = restore(h, { [data]: "16m" });
        assert.equal(r.status, 1, r.stdout);
        assert.match(r.stderr, new RegExp(`not enough space on ${data} for ${h.live}: need 65 MiB \\(the restored databases plus a 64 MiB margin\\), free 1[56] MiB; nothing was restored`));
        assert.doesNotMatch(r.stdout, /restored/);
    });

    it("refuses a replica whose header claims more than awk prints as an integer (2^31 KiB and up), rather than taking it for room", () => {
        const h = host(replica);
        fs.mkdirSync(path.dirname(h.live), { recursive: true });
        for (const file of ltxFiles(path.join(h.root, "replica", "events.db"))) {
            const bytes = fs.readFileSync(file);
            bytes.writeUInt32BE(65536, 8); // page size
            bytes.writeUInt32BE(0x40000000, 12); // page count: 64 TiB in all
            fs.writeFileSync(file, bytes);
        }
        const r = restore(h);
        assert.equal(r.status, 1, r.stdout);
        assert.match(r.stderr, /not enough space on .* need 67108928 MiB .*nothing was restored/);
        assert.equal(fs.existsSync(h.live), false);
    });

    it("restores many tenants' databases a few at a time, each checked and in its live path, and says so last", () => {
        const h = host(replica);
        const names = Array.from({ length: 12 }, (_, i) => `t${String(i).padStart(2, "0")}`);
        const live = tenants(h, replica, names);
        liveTenant(live.t03);
        const r = restore(h, {}, { WIREBOT_RESTORE_JOBS: "4" });
        assert.equal(r.status, 0, r.stderr);
        for (const name of names) assert.equal(sql(live[name], "SELECT count(*) FROM events;"), "10", name);
        assert.deepEqual(
            fs.readdirSync(path.dirname(live.t03)).filter((n) => n.includes(".pre-restore-")).length,
            1,
            "the tenant's live database was moved aside, not overwritten",
        );
        assert.equal(r.stdout.match(/^restored .* from .* in \d+s$/gm)?.length, 13);
        assert.match(r.stdout.trim().split("\n").pop()!, /^restored 13 databases in \d+s, up to 4 at a time$/);
        assert.equal(fs.readdirSync(path.dirname(live.t00)).filter((n) => n.includes(".restoring")).length, 0, "no copy left half-way");
    });

    it("stops starting restores once one fails, names it, and never puts a failed copy in a live path", () => {
        const h = host(replica);
        const live = tenants(h, replica, ["a-bad", "b-next", "c-last"]);
        corrupt(h, "a-bad");
        for (const file of Object.values(live)) liveTenant(file);
        // One at a time: the listed database, then a-bad, which fails; b-next and c-last never start.
        const r = restore(h, {}, { WIREBOT_RESTORE_JOBS: "1" });
        assert.equal(r.status, 1, r.stdout);
        assert.match(r.stderr, new RegExp(`restore of ${live["a-bad"]} from .* failed`));
        assert.match(r.stderr, new RegExp(`the restore of ${live["a-bad"]} failed \\(see above\\); no restore started after that, those under way finished`));
        assert.equal(sql(h.live, "SELECT count(*) FROM events;"), "10", "the one before it was restored");
        for (const name of ["a-bad", "b-next", "c-last"]) {
            assert.equal(sql(live[name], "SELECT x FROM mine;"), "before", `${name}'s live database is as it was`);
            assert.deepEqual(fs.readdirSync(path.dirname(live[name])), ["events.db"], `nothing moved aside or left behind for ${name}`);
        }

        // Several at a time: the others finish, the failed one is named, its live database untouched.
        const many = restore(h, {}, { WIREBOT_RESTORE_JOBS: "3" });
        assert.equal(many.status, 1, many.stdout);
        assert.match(many.stderr, new RegExp(`the restore of ${live["a-bad"]} failed`));
        assert.equal(sql(live["a-bad"], "SELECT x FROM mine;"), "before");
    });

    it("leaves a tenant whose replica holds no LTX file yet as it is, and restores the rest", () => {
        const h = host(replica);
        const live = tenants(h, replica, ["ready"]);
        const fresh = path.join(h.root, "data", "tenants", "fresh", "events.db");
        fs.mkdirSync(path.join(h.root, "replica", "tenants", "fresh", "events.db", "ltx", "0"), { recursive: true });
        liveTenant(fresh);
        const r = restore(h);
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stderr, /tenant fresh has no replica yet \(.*holds no LTX file\); left as it is/);
        assert.equal(sql(live.ready, "SELECT count(*) FROM events;"), "10");
        assert.equal(sql(fresh, "SELECT x FROM mine;"), "before");
        assert.match(r.stdout, /restored 2 databases in/);
    });

    it("refuses a number of jobs that is not a whole number above 0 before doing anything", () => {
        const h = host(replica);
        for (const jobs of ["0", "00", "two", "-1"]) {
            const r = restore(h, {}, { WIREBOT_RESTORE_JOBS: jobs });
            assert.equal(r.status, 2, `${jobs}: ${r.stdout}`);
            assert.match(r.stderr, /WIREBOT_RESTORE_JOBS must be a whole number above 0/);
            assert.equal(fs.existsSync(h.live), false, jobs);
        }
    });
});
