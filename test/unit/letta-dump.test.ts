import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import * as zlib from "node:zlib";
import { ASSETS_DIR } from "../../components/templates";

// No Letta container can run here: `podman` in these tests is a stand-in
// script with podman's command line, so the dump script's own logic (skip,
// status of pg_dumpall through the pipe, verification, pruning, shipping,
// state) runs for real.

const SCRIPT = path.join(ASSETS_DIR, "host", "wirebot-letta-dump");
const SQL = "-- PostgreSQL database cluster dump\nCREATE ROLE letta;\n";

function sandbox(podman: string | null, extra: Record<string, string> = {}) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wirebot-letta-"));
    let podmanPath = path.join(dir, "no-such-podman");
    if (podman !== null) {
        podmanPath = path.join(dir, "podman");
        fs.writeFileSync(podmanPath, `#!/bin/sh\n${podman}\n`, { mode: 0o755 });
    }
    const env: Record<string, string> = { ...(process.env as Record<string, string>), PODMAN: podmanPath, DUMP_DIR: path.join(dir, "dumps"), STATE_FILE: path.join(dir, "state.json"), ...extra };
    const run = () => spawnSync("sh", [SCRIPT], { encoding: "utf8", env });
    const state = () => JSON.parse(fs.readFileSync(env.STATE_FILE, "utf8"));
    const dumps = () => (fs.existsSync(env.DUMP_DIR) ? fs.readdirSync(env.DUMP_DIR).sort() : []);
    return { dir, env, run, state, dumps };
}

const containerExists = 'if [ "$1 $2" = "container exists" ]; then exit 0; fi';

describe("Letta snapshot (podman is a stand-in)", () => {
    it("skips with a logged reason when podman is not installed", () => {
        const s = sandbox(null);
        const r = s.run();
        assert.equal(r.status, 0);
        assert.match(r.stderr, /skipped: podman is not installed/);
        assert.deepEqual({ ok: s.state().ok, skipped: s.state().skipped }, { ok: true, skipped: true });
    });

    it("skips when there is no Letta container", () => {
        const s = sandbox('[ "$1 $2" = "container exists" ] && exit 1; exit 99');
        const r = s.run();
        assert.equal(r.status, 0);
        assert.match(r.stderr, /skipped: no Letta container letta-wirebot/);
        assert.match(s.state().reason, /no Letta container/);
        assert.deepEqual(s.dumps(), []);
    });

    it("dumps through pg_dumpall, gzipped and 0600, keeps the newest, and ships each", () => {
        const shipped = path.join(os.tmpdir(), `wirebot-shipped-${process.pid}`);
        fs.rmSync(shipped, { recursive: true, force: true });
        fs.mkdirSync(shipped);
        const s = sandbox(`${containerExists}\n[ "$1 $3 $5" = "exec pg_dumpall letta" ] && printf '%s' '${SQL}' && exit 0\nexit 98`, { KEEP: "2" });
        const ship = path.join(s.dir, "ship");
        fs.writeFileSync(ship, `#!/bin/sh\ncp "$1" ${shipped}/\n`, { mode: 0o755 });
        s.env.SHIP_COMMAND = ship;
        for (let n = 0; n < 3; n++) {
            const r = s.run();
            assert.equal(r.status, 0, r.stderr);
            if (n < 2) spawnSync("sleep", ["1.05"]);
        }
        const dumps = s.dumps();
        assert.equal(dumps.length, 2, `kept: ${dumps.join(", ")}`);
        const newest = path.join(s.env.DUMP_DIR, dumps[1]);
        assert.equal(zlib.gunzipSync(fs.readFileSync(newest)).toString(), SQL);
        assert.equal(fs.statSync(newest).mode & 0o777, 0o600);
        assert.equal(fs.statSync(s.env.DUMP_DIR).mode & 0o777, 0o700);
        const state = s.state();
        assert.equal(state.ok, true);
        assert.equal(state.skipped, false);
        assert.ok(state.bytes > 0);
        assert.equal(fs.readdirSync(shipped).length, 3, "every dump was shipped");
    });

    it("fails without leaving a partial dump when pg_dumpall fails midway", () => {
        const s = sandbox(`${containerExists}\nprintf 'CREATE TABLE half'\nexit 1`);
        const r = s.run();
        assert.equal(r.status, 1);
        assert.match(r.stderr, /pg_dumpall in letta-wirebot exited 1/);
        assert.deepEqual(s.dumps(), []);
        assert.equal(s.state().ok, false);
    });

    it("fails when shipping to the standby fails", () => {
        const s = sandbox(`${containerExists}\nprintf '%s' '${SQL}'`, { SHIP_COMMAND: "false" });
        const r = s.run();
        assert.equal(r.status, 1);
        assert.match(s.state().reason, /shipping letta-.*\.sql\.gz failed/);
    });
});
