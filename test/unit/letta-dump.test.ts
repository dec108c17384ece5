import { strict as assert } from "node:assert";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import * as zlib from "node:zlib";
import { HOST_DIR } from "../../src/render/templates";

// No Letta container can run here: `podman` in these tests is a stand-in
// script with podman's command line, so the dump script's own logic (skip,
// status of pg_dumpall through the pipe, verification, pruning, shipping,
// state, cleanup) runs for real under sh.

const SCRIPT = path.join(HOST_DIR, "bin", "wirebot-letta-dump");
const SQL = "-- PostgreSQL database cluster dump\nCREATE ROLE letta;\nCREATE DATABASE letta OWNER letta;\n";
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
const DUMP_NAME = /^letta-\d{8}T\d{6}Z\.sql\.gz$/;

const sandboxes: string[] = [];
after(() => {
    for (const dir of sandboxes) fs.rmSync(dir, { recursive: true, force: true });
});

/** The stand-in podman: `container exists` answers with existsStatus, `exec <container> pg_dumpall -U <user>` runs dumpBody. */
function standInPodman(existsStatus: number, dumpBody: string): string {
    return [
        'if [ "$1 $2" = "container exists" ]; then exit ' + existsStatus + "; fi",
        'if [ "$1 $3 $4 $5" = "exec pg_dumpall -U letta" ]; then',
        dumpBody,
        "fi",
        'echo "stand-in podman: unexpected arguments: $*" >&2',
        "exit 98",
    ].join("\n");
}

function sandbox(podman: string | null, extra: Record<string, string> = {}) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wirebot-letta-"));
    sandboxes.push(dir);
    let podmanPath = path.join(dir, "no-such-podman");
    if (podman !== null) {
        podmanPath = path.join(dir, "podman");
        fs.writeFileSync(podmanPath, `#!/bin/sh\n${podman}\n`, { mode: 0o755 });
    }
    const env: Record<string, string> = {
        ...(process.env as Record<string, string>),
        PODMAN: podmanPath,
        DUMP_DIR: path.join(dir, "dumps"),
        STATE_FILE: path.join(dir, "state", "letta-dump.json"),
        ...extra,
    };
    const run = () => spawnSync("sh", [SCRIPT], { encoding: "utf8", env });
    const state = () => JSON.parse(fs.readFileSync(env.STATE_FILE, "utf8"));
    const dumps = () => (fs.existsSync(env.DUMP_DIR) ? fs.readdirSync(env.DUMP_DIR).sort() : []);
    const script = (name: string, body: string) => {
        const file = path.join(dir, name);
        fs.writeFileSync(file, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
        return file;
    };
    const previousSuccess = () => {
        fs.mkdirSync(path.dirname(env.STATE_FILE), { recursive: true });
        fs.writeFileSync(env.STATE_FILE, JSON.stringify({ at: "2020-01-01T00:00:00Z", ok: true, skipped: false }));
    };
    return { dir, env, run, state, dumps, script, previousSuccess };
}

const dumpsSql = `printf '%s' '${SQL}'\nexit 0`;

describe("Letta snapshot (podman is a stand-in script; no real Letta container runs here)", () => {
    it("skips with a logged reason when podman is not installed", () => {
        const s = sandbox(null);
        const r = s.run();
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stderr, /^wirebot-letta-dump: skipped: podman is not installed/m);
        const state = s.state();
        assert.equal(state.ok, true);
        assert.equal(state.skipped, true);
        assert.match(state.reason, /podman is not installed/);
        assert.match(state.at, ISO_UTC);
        assert.deepEqual(s.dumps(), []);
    });

    it("skips with a logged reason when the stand-in podman says the Letta container does not exist", () => {
        const s = sandbox(standInPodman(1, "exit 97"));
        const r = s.run();
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stderr, /^wirebot-letta-dump: skipped: no Letta container letta-wirebot \(podman container exists said no\)$/m);
        const state = s.state();
        assert.deepEqual({ ok: state.ok, skipped: state.skipped }, { ok: true, skipped: true });
        assert.match(state.reason, /no Letta container letta-wirebot/);
        assert.deepEqual(s.dumps(), []);
        assert.deepEqual(fs.readdirSync(path.dirname(s.env.STATE_FILE)), ["letta-dump.json"], "the state is written atomically, no temp file left");
    });

    it("fails rather than skips when the stand-in podman itself errors on `container exists`", () => {
        const s = sandbox(standInPodman(125, "exit 97"));
        const r = s.run();
        assert.equal(r.status, 1);
        const state = s.state();
        assert.equal(state.ok, false);
        assert.equal(state.skipped, undefined);
        assert.match(state.reason, /podman container exists letta-wirebot exited 125/);
    });

    it("dumps the stand-in podman's pg_dumpall output gzipped and 0600, keeps the newest KEEP, and ships each", () => {
        const s = sandbox(standInPodman(0, dumpsSql), { KEEP: "2" });
        const shipped = path.join(s.dir, "shipped");
        fs.mkdirSync(shipped);
        s.env.SHIP_COMMAND = `${s.script("ship", `echo "$*" >>${s.dir}/ship-args\nfor last do :; done\ncp "$last" ${shipped}/`)} --to-standby`;
        const made: string[] = [];
        for (let n = 0; n < 3; n++) {
            // Dump names carry the second they were made in.
            if (n > 0) spawnSync("sleep", ["1.05"]);
            const r = s.run();
            assert.equal(r.status, 0, r.stderr);
            const state = s.state();
            assert.equal(state.ok, true);
            assert.equal(state.skipped, false);
            assert.match(state.at, ISO_UTC);
            assert.ok(state.bytes > 0);
            assert.equal(state.bytes, fs.statSync(state.file).size);
            assert.equal(typeof state.ms, "number");
            made.push(path.basename(state.file));
        }
        assert.equal(new Set(made).size, 3, made.join(", "));
        const dumps = s.dumps();
        assert.deepEqual(dumps, made.slice(1), "the newest two are kept, nothing partial left");
        for (const name of dumps) {
            assert.match(name, DUMP_NAME);
            const file = path.join(s.env.DUMP_DIR, name);
            assert.equal(zlib.gunzipSync(fs.readFileSync(file)).toString(), SQL);
            assert.equal(fs.statSync(file).mode & 0o777, 0o600);
        }
        assert.equal(fs.statSync(s.env.DUMP_DIR).mode & 0o777, 0o700);
        const shipArgs = fs.readFileSync(path.join(s.dir, "ship-args"), "utf8").trim().split("\n");
        assert.deepEqual(shipArgs, made.map((name) => `--to-standby ${path.join(s.env.DUMP_DIR, name)}`), "the dump's final path comes last");
        assert.deepEqual(fs.readdirSync(shipped).sort(), made);
        assert.equal(zlib.gunzipSync(fs.readFileSync(path.join(shipped, made[2]))).toString(), SQL);
    });

    it("fails without leaving a partial dump when the stand-in's pg_dumpall fails midway", () => {
        const s = sandbox(standInPodman(0, "printf 'CREATE TABLE half'\nexit 1"));
        s.previousSuccess();
        const r = s.run();
        assert.equal(r.status, 1);
        assert.match(r.stderr, /pg_dumpall in letta-wirebot exited 1/);
        assert.ok(!r.stdout.includes("CREATE TABLE") && !r.stderr.includes("CREATE TABLE"), "dump contents are never printed");
        assert.deepEqual(s.dumps(), []);
        const state = s.state();
        assert.equal(state.ok, false);
        assert.match(state.at, ISO_UTC);
        assert.match(state.reason, /pg_dumpall/);
    });

    it("fails when the stand-in's pg_dumpall prints nothing", () => {
        const s = sandbox(standInPodman(0, "exit 0"));
        const r = s.run();
        assert.equal(r.status, 1);
        assert.deepEqual(s.dumps(), []);
        assert.match(s.state().reason, /produced nothing/);
    });

    it("fails when shipping to the standby fails, keeping the local dump", () => {
        const s = sandbox(standInPodman(0, dumpsSql), { SHIP_COMMAND: "false" });
        s.previousSuccess();
        const r = s.run();
        assert.equal(r.status, 1);
        const state = s.state();
        assert.equal(state.ok, false);
        assert.match(state.reason, /shipping letta-.*\.sql\.gz failed/);
        const dumps = s.dumps();
        assert.equal(dumps.length, 1);
        assert.match(dumps[0], DUMP_NAME);
    });

    it("records a failure and leaves no partial dump when gzip fails (a full disk) under the stand-in podman", () => {
        const s = sandbox(standInPodman(0, dumpsSql));
        const bin = path.join(s.dir, "bin");
        fs.mkdirSync(bin);
        fs.writeFileSync(path.join(bin, "gzip"), "#!/bin/sh\ncat >/dev/null\necho 'gzip: write error: No space left on device' >&2\nexit 1\n", { mode: 0o755 });
        s.env.PATH = `${bin}:${s.env.PATH}`;
        s.previousSuccess();
        const r = s.run();
        assert.notEqual(r.status, 0);
        assert.deepEqual(s.dumps(), []);
        const state = s.state();
        assert.equal(state.ok, false, "the previous run's success is not left standing");
        assert.match(state.reason, /exit status 1/);
    });

    it("cleans up and records the stop when systemd stops it mid-dump (SIGTERM to the unit's processes; stand-in podman)", async () => {
        const s = sandbox(standInPodman(0, `printf 'CREATE TABLE half'\n: >"$MARKER"\nexec sleep 30`));
        s.env.MARKER = path.join(s.dir, "dumping");
        s.previousSuccess();
        const child = spawn("sh", [SCRIPT], { env: s.env, detached: true, stdio: ["ignore", "ignore", "pipe"] });
        let stderr = "";
        child.stderr.on("data", (chunk) => (stderr += chunk));
        const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
        for (let waited = 0; !fs.existsSync(s.env.MARKER); waited += 20) {
            assert.ok(waited < 10_000, "the stand-in's pg_dumpall never started");
            await new Promise((resolve) => setTimeout(resolve, 20));
        }
        assert.equal(s.dumps().filter((name) => name.endsWith(".partial")).length, 1, "mid-dump there is a partial file");
        process.kill(-child.pid!, "SIGTERM");
        assert.equal(await exited, 143, stderr);
        assert.deepEqual(s.dumps(), []);
        const state = s.state();
        assert.equal(state.ok, false);
        assert.match(state.reason, /stopped by SIGTERM/);
        assert.match(stderr, /failed: stopped by SIGTERM/);
    });

    it("removes partial dumps a killed run left behind (stand-in podman)", () => {
        const s = sandbox(standInPodman(0, dumpsSql));
        fs.mkdirSync(s.env.DUMP_DIR, { recursive: true });
        for (const leftover of ["letta-20200101T000000Z.sql.gz.partial", "letta-20200101T000000Z.sql.gz.partial.status"]) {
            fs.writeFileSync(path.join(s.env.DUMP_DIR, leftover), "x");
        }
        const r = s.run();
        assert.equal(r.status, 0, r.stderr);
        const dumps = s.dumps();
        assert.equal(dumps.length, 1, dumps.join(", "));
        assert.match(dumps[0], DUMP_NAME);
    });

    it("rejects a KEEP that is not a whole number of at least 1 before touching the stand-in podman", () => {
        for (const keep of ["0", "two", "-1"]) {
            const s = sandbox(standInPodman(0, dumpsSql), { KEEP: keep });
            const r = s.run();
            assert.equal(r.status, 1, `KEEP=${keep}`);
            assert.equal(s.state().ok, false);
            assert.match(s.state().reason, /KEEP/);
            assert.deepEqual(s.dumps(), []);
        }
    });
});
