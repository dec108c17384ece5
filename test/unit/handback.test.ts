import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it, TestContext } from "node:test";
import { buildAgentBundle } from "../../agent/build";
import { FLIP_BUDGET_ENV } from "../../agent/contract";
import { CONNECTOR, LoopbackPair, SERVICE } from "./loopback-hosts";

// The failback's hand-back, with the bundled agent on both sides (see
// loopback-hosts.ts): the standby stops and exports, the primary pulls and merges
// with the real wirebot-merge and sqlite3. Each run of a side is a fresh process,
// as each pulumi up is; killing the watchdog and starting it again is a crash.

const LITESTREAM = "wirebot-litestream.service";
const EVENTS = "CREATE TABLE events (id TEXT PRIMARY KEY, kind TEXT);";
const ids = (pair: LoopbackPair, side: "primary" | "standby") => pair.sql(side, "events.db", "SELECT id FROM events ORDER BY id;").split("\n").filter(Boolean);

/** Both sides hold the events up to the takeover; the standby then served and took `written`. */
function standbyServed(pair: LoopbackPair, written: string[]): void {
    for (const side of ["primary", "standby"] as const) pair.sql(side, "events.db", `PRAGMA journal_mode=WAL; ${EVENTS} INSERT INTO events VALUES ('before', 'signup');`);
    pair.sql("standby", "events.db", written.map((id) => `INSERT INTO events VALUES ('${id}', 'standby');`).join(" "));
    pair.unit("standby", SERVICE, true);
    pair.unit("standby", CONNECTOR, true);
    pair.writeStateFile("standby", "takeover.json", { at: new Date().toISOString(), reason: "test", timeline: [], automatic: false, planned: true, acknowledged: true });
}

describe("the failback's hand-back", { concurrency: 3 }, () => {
    const bundle = buildAgentBundle();
    /** A primary and a standby of the test's own, the standby's agent running until the test ends. */
    const hosts = async (t: TestContext) => {
        const pair = await LoopbackPair.create(bundle);
        t.after(() => pair.stopWatchdog());
        await pair.startWatchdog();
        return pair;
    };

    it("records its intent before the standby stops: an export refused for want of room is finished by the next run, and the primary serves only after merging it", async (t) => {
        const pair = await hosts(t);
        standbyServed(pair, ["s1"]);
        // The standby's sync directory, where the export goes, has room for the copy but not for the margin.
        await pair.startWatchdog([{ target: pair.standbySync, size: "16m" }]);
        const failed = pair.run("primary", ["flip", "serve"]);
        assert.notEqual(failed.status, 0, failed.output);
        assert.match(failed.stderr, new RegExp(`not enough space in ${pair.standbySync} for the copy of this standby's databases and files: need 64\\.\\d MiB \\(0\\.\\d MiB plus a 64\\.0 MiB margin\\), free 16\\.0 MiB`));
        assert.doesNotMatch(failed.stderr, /^\s+at /m, "the standby's reason, not a stack trace");
        assert.equal(pair.isActive("standby", CONNECTOR), false, "the standby stopped");
        assert.equal(pair.stateFile<{ state: string }>("standby", "handback.json")?.state, "exporting", "the intent is on disk");

        // The standby's agent restarts with room again; the same flip runs again.
        await pair.startWatchdog();
        const again = pair.run("primary", ["flip", "serve"]);
        assert.equal(again.status, 0, again.output);
        assert.match(again.stdout, /failback: merged/);
        assert.deepEqual(ids(pair, "primary"), ["before", "s1"], "the standby's write is on the primary");
        const handback = pair.stateFile<{ state: string; merged: boolean }>("standby", "handback.json");
        assert.equal(handback?.state, "merged");
        assert.equal(handback?.merged, true, "readers of the record before its state field see it merged too");
        assert.equal(pair.isActive("standby", SERVICE), false);
    });

    it("hands back the hub's files the standby wrote since it took over, keeping both copies of one changed on both sides", async (t) => {
        const pair = await hosts(t);
        standbyServed(pair, []);
        const workspace = path.join(pair.data, "clawd");
        for (const side of ["primary", "standby"] as const) pair.configure(side, { fileSync: { ...pair[side].config.fileSync!, paths: [workspace] } });
        await pair.startWatchdog();
        const write = (root: string, files: Record<string, string>) => {
            for (const [name, content] of Object.entries(files)) {
                fs.mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
                fs.writeFileSync(path.join(root, name), content);
            }
        };
        const base = { "notes.md": "base notes", "both.md": "base", "stale.md": "base stale", "same.md": "same" };
        // What the primary had when the standby took over: its files, and the standby's staging copy of them.
        write(path.join(pair.primary.data, "clawd"), { ...base, "both.md": "primary edit" });
        write(path.join(pair.standbySync, "files", workspace), base);
        write(path.join(pair.standby.data, "clawd"), { "notes.md": "standby notes", "sub/new.md": "new on the standby", "both.md": "standby edit", "same.md": "same", "stale.md": "left from an earlier takeover" });
        const hourAgo = new Date(Date.now() - 3600_000);
        fs.utimesSync(path.join(pair.standby.data, "clawd", "stale.md"), hourAgo, hourAgo);

        const flip = pair.run("primary", ["flip", "serve"]);
        assert.equal(flip.status, 0, flip.output);
        const id = pair.stateFile<{ id: string }>("standby", "handback.json")!.id.slice(0, 8);
        assert.match(flip.stdout, new RegExp(`files: 2 taken from the standby, 0 already the same, 1 changed on both sides \\(kept here, the standby's beside each as \\.from-standby-${id}: ${workspace}/both\\.md\\)`));
        const onPrimary = (name: string) => fs.readFileSync(path.join(pair.primary.data, "clawd", name), "utf8");
        assert.equal(onPrimary("notes.md"), "standby notes");
        assert.equal(onPrimary("sub/new.md"), "new on the standby");
        assert.equal(onPrimary("both.md"), "primary edit");
        assert.equal(onPrimary(`both.md.from-standby-${id}`), "standby edit");
        assert.equal(onPrimary("stale.md"), "base stale", "a file older than the takeover is not handed back");
    });

    it("refuses a pull the primary's disk has no room for, and keeps the two newest exports it pulled", async (t) => {
        const pair = await hosts(t);
        standbyServed(pair, ["s1"]);
        const inbox = path.join(pair.primary.config.stateDir, "inbox");
        fs.mkdirSync(inbox, { recursive: true });
        const refused = pair.run("primary", ["flip", "serve"], { mounts: [{ target: inbox, size: "16m" }] });
        assert.notEqual(refused.status, 0, refused.output);
        assert.match(refused.stderr, new RegExp(`not enough space in ${inbox}/[0-9a-f-]{36} for the pull of the standby's export [0-9a-f-]{36}: need 64\\.\\d MiB .*free 16\\.0 MiB`));
        assert.deepEqual(ids(pair, "primary"), ["before"]);

        // Two exports pulled before, the older first, and the files of the layout before one directory per export.
        for (const [name, age] of [["old-1", 3000], ["old-2", 2000]] as const) {
            fs.mkdirSync(path.join(inbox, name));
            const when = new Date(Date.now() - age * 1000);
            fs.utimesSync(path.join(inbox, name), when, when);
        }
        fs.writeFileSync(path.join(inbox, "manifest.json"), "{}");
        fs.writeFileSync(path.join(inbox, "0-events.db"), "");
        const flip = pair.run("primary", ["flip", "serve"]);
        assert.equal(flip.status, 0, flip.output);
        assert.deepEqual(ids(pair, "primary"), ["before", "s1"]);
        const handback = pair.stateFile<{ id: string }>("standby", "handback.json")!;
        assert.deepEqual(fs.readdirSync(inbox).sort(), [handback.id, "old-2"].sort());
    });

    it("finishes an export a crash left halfway, under the same id", async (t) => {
        const pair = await hosts(t);
        standbyServed(pair, ["s1"]);
        // The standby died after recording its intent and stopping its units, before its copy was made.
        pair.writeStateFile("standby", "handback.json", { id: "0c9c4bb4-5f0e-4c8c-9f55-6a3b1f0e2d11", at: new Date().toISOString(), state: "exporting", exported: [], merged: false });
        pair.unit("standby", SERVICE, false);
        pair.unit("standby", CONNECTOR, false);
        const flip = pair.run("primary", ["flip", "serve"]);
        assert.equal(flip.status, 0, flip.output);
        assert.match(flip.stderr + flip.stdout, /export 0c9c4bb4-5f0e-4c8c-9f55-6a3b1f0e2d11/);
        assert.deepEqual(ids(pair, "primary"), ["before", "s1"]);
    });

    it("keeps a standby with an unmerged export from taking over again, outbox and all, until the operator sets the export aside", async (t) => {
        const pair = await hosts(t);
        standbyServed(pair, ["s1"]);
        pair.script("primary", "wirebot-merge", 'echo "wirebot-merge: conflict" >&2; exit 1');
        const refused = pair.run("primary", ["flip", "serve"]);
        assert.notEqual(refused.status, 0, "the merge refused");
        const handback = pair.stateFile<{ id: string; state: string }>("standby", "handback.json")!;
        assert.equal(handback.state, "exported");
        const outbox = path.join(pair.standbySync, "outbox");
        const before = fs.readdirSync(outbox).sort();

        pair.script("standby", "wirebot-restore", `touch '${path.join(pair.dir, "restored")}'`);
        const activation = pair.run("standby", ["activate", "--force"]);
        assert.notEqual(activation.status, 0);
        assert.match(activation.stderr, new RegExp(`export ${handback.id} .* is not merged into the primary yet`));
        assert.equal(fs.existsSync(path.join(pair.dir, "restored")), false, "nothing was restored");
        assert.equal(pair.isActive("standby", CONNECTOR), false);
        assert.deepEqual(fs.readdirSync(outbox).sort(), before, "the export is kept as it was");
        assert.match(activation.stderr, /If the primary is lost and cannot take them: wirebot-failover keep-export/);

        // The primary is lost: the operator sets the export aside, and the standby may take over again.
        const kept = pair.run("standby", ["keep-export"]);
        assert.equal(kept.status, 0, kept.output);
        const keptDir = path.join(pair.standbySync, "kept", handback.id);
        assert.deepEqual(fs.readdirSync(keptDir).sort(), before, "the whole export, for a merge by hand");
        assert.equal(pair.stateFile<{ state: string }>("standby", "handback.json")?.state, "kept");
        const again = pair.run("standby", ["activate", "--force"]);
        assert.equal(again.status, 0, again.output);
        assert.equal(fs.existsSync(path.join(pair.dir, "restored")), true);
        assert.equal(pair.isActive("standby", CONNECTOR), true);
    });

    it("has the standby stack's failback refuse while the standby took over and stopped without handing back", async (t) => {
        const pair = await hosts(t);
        standbyServed(pair, ["s1"]);
        pair.unit("standby", SERVICE, false);
        pair.unit("standby", CONNECTOR, false);
        const refused = pair.run("standby", ["flip", "stand-down"]);
        assert.equal(refused.status, 1, refused.output);
        assert.match(refused.stderr, /took over at .* and stopped without handing back what it wrote: run pulumi up -s primary/);
        const flip = pair.run("primary", ["flip", "serve"]);
        assert.equal(flip.status, 0, flip.output);
        assert.deepEqual(ids(pair, "primary"), ["before", "s1"], "the primary's failback has it export");
        assert.equal(pair.run("standby", ["flip", "stand-down"]).status, 0);
    });

    it("brings Litestream back when the replicas cannot start over, and starts them over on the next run", async (t) => {
        const pair = await hosts(t);
        standbyServed(pair, ["s1"]);
        pair.unit("primary", LITESTREAM, true);
        const localState = path.join(pair.primary.data, ".events.db-litestream");
        fs.mkdirSync(localState);
        // The standby cannot empty its replica directory: a file stands where it should be.
        const replicaDir = pair.standby.config.replicaDir;
        fs.writeFileSync(replicaDir, "");
        const failed = pair.run("primary", ["flip", "serve"]);
        assert.notEqual(failed.status, 0, failed.output);
        assert.equal(pair.isActive("primary", LITESTREAM), true, "Litestream runs again");
        assert.deepEqual(pair.systemctlCalls("primary").filter((c) => /^(stop|start) /.test(c)), [`stop ${LITESTREAM}`, `start ${LITESTREAM}`]);
        assert.ok(fs.existsSync(localState), "its state stays as it was, matching the replicas the standby kept");
        assert.equal(pair.stateFile<{ state: string }>("standby", "handback.json")?.state, "merged");
        assert.ok(pair.stateFile("primary", "reseed-pending.json"), "the reseed is owed");

        fs.rmSync(replicaDir);
        fs.mkdirSync(path.join(replicaDir, "events.db"), { recursive: true });
        const again = pair.run("primary", ["flip", "serve"]);
        assert.equal(again.status, 0, again.output);
        assert.match(again.stdout, /replicate afresh/);
        assert.deepEqual(fs.readdirSync(replicaDir), [], "the standby's replicas were emptied");
        assert.equal(fs.existsSync(localState), false);
        assert.equal(pair.isActive("primary", LITESTREAM), true);
        assert.equal(pair.stateFile("primary", "reseed-pending.json"), null);
    });

    it("ends its waits within the budget its serving step gives it, and the next run resumes", async (t) => {
        const pair = await hosts(t);
        standbyServed(pair, ["s1"]);
        const started = Date.now();
        const slow = pair.run("primary", ["flip", "serve"], { env: { [FLIP_BUDGET_ENV]: "3", FAKE_PULL_SECONDS: "60" }, timeoutMs: 30_000 });
        assert.equal(slow.status, 1, slow.output);
        assert.ok(Date.now() - started < 12_000, `the flip took ${Date.now() - started} ms`);
        assert.match(slow.stderr, /the pull of the standby's export did not finish within the [\d.]+ s left of the flip's budget of 3 s .*wirebot:remoteTimeoutSeconds/);
        assert.deepEqual(ids(pair, "primary"), ["before"], "nothing merged yet");
        const again = pair.run("primary", ["flip", "serve"], { env: { [FLIP_BUDGET_ENV]: "20" } });
        assert.equal(again.status, 0, again.output);
        assert.deepEqual(ids(pair, "primary"), ["before", "s1"]);
    });

    it("does not serve the primary while the standby cannot be asked, unless the operator gave the standby up", async (t) => {
        const pair = await hosts(t);
        await pair.stopWatchdog();
        const refused = pair.run("primary", ["flip", "serve"]);
        assert.equal(refused.status, 1, refused.output);
        assert.match(refused.stderr, /the standby cannot be asked .*Bring the standby's agent back.*wirebot-failover forget-standby/);

        assert.equal(pair.run("primary", ["forget-standby"]).status, 0);
        const served = pair.run("primary", ["flip", "serve"]);
        assert.equal(served.status, 0, served.output);
        assert.match(served.stdout, /serving without its writes/);
        assert.equal(pair.run("primary", ["flip", "serve"]).status, 1, "the operator's word counts for one flip");
    });
});
