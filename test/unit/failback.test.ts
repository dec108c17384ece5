import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { buildAgentBundle } from "../../agent/build";
import { FLIP_BUDGET_ENV, FLIP_SERVED_WITH_DEBT } from "../../agent/contract";
import { CONNECTOR, eventIds, pairFor, SERVICE, standbyServed } from "./loopback-hosts";

// What a failback copies and how long it may take, with the bundled agent on
// both sides (see loopback-hosts.ts): the hub's files, the room a pull needs,
// the replicas starting over, the flip's time budget.

const LITESTREAM = "wirebot-litestream.service";

describe("a failback's copies, replicas and time", { concurrency: 2 }, () => {
    const bundle = buildAgentBundle();

    it("hands back the hub's files the standby wrote since it took over, keeping both copies of one changed on both sides", async (t) => {
        const pair = await pairFor(t, bundle);
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

    it("refuses an export whose manifest puts a file outside the synced paths, merging nothing", async (t) => {
        const pair = await pairFor(t, bundle);
        standbyServed(pair, ["s1"]);
        const workspace = path.join(pair.data, "clawd");
        for (const side of ["primary", "standby"] as const) pair.configure(side, { fileSync: { ...pair[side].config.fileSync!, paths: [workspace] } });
        await pair.startWatchdog();
        // The standby stopped with an export the primary has not merged; its manifest names a file outside the synced paths.
        pair.unit("standby", SERVICE, false);
        pair.unit("standby", CONNECTOR, false);
        const id = "5b0d7a52-3f51-4d0e-9a8e-2f1c6b7d9e10";
        const outbox = path.join(pair.standbySync, "outbox");
        const planted = path.join(pair.dir, "outside", "planted");
        fs.mkdirSync(path.join(outbox, "files", path.dirname(planted)), { recursive: true });
        fs.writeFileSync(path.join(outbox, "files", planted), "planted");
        const copy = spawnSync("sqlite3", [path.join(pair.standby.data, "events.db"), `.backup '${path.join(outbox, "0-events.db")}'`], { encoding: "utf8" });
        assert.equal(copy.status, 0, copy.stderr);
        const sha256 = "3c2d7b2ee1b3d2f58ac6c4b1e6d4a3d8c0a5b7f7b6f9e2c4d1a0b9c8d7e6f5a4";
        const manifest = {
            id,
            at: new Date().toISOString(),
            entries: [{ file: "0-events.db", live: path.join(pair.data, "events.db"), bytes: 0 }],
            files: [{ path: planted, sha256, base: null, bytes: 7, mode: 0o644 }],
        };
        fs.writeFileSync(path.join(outbox, "manifest.json"), JSON.stringify(manifest));
        pair.writeStateFile("standby", "handback.json", { id, at: manifest.at, state: "exported", exported: manifest.entries, merged: false });
        const refused = pair.run("primary", ["flip", "serve"]);
        assert.equal(refused.status, 1, refused.output);
        assert.match(refused.stderr, new RegExp(`wirebot-failover: the standby's export manifest is refused, nothing was merged: file 0: "${planted}" is not a file under the synced paths \\(${workspace}\\)\n`));
        assert.deepEqual(eventIds(pair, "primary"), ["before"], "the database copy was not merged either");
        assert.equal(fs.existsSync(planted), false);
        assert.equal(pair.stateFile<{ state: string }>("standby", "handback.json")?.state, "exported", "the export still waits for a merge");
    });

    it("refuses a pull the primary's disk has no room for, and keeps the two newest exports it pulled", async (t) => {
        const pair = await pairFor(t, bundle);
        standbyServed(pair, ["s1"]);
        const inbox = path.join(pair.primary.config.stateDir, "inbox");
        fs.mkdirSync(inbox, { recursive: true });
        const refused = pair.run("primary", ["flip", "serve"], { mounts: [{ target: inbox, size: "16m" }] });
        assert.notEqual(refused.status, 0, refused.output);
        assert.match(refused.stderr, new RegExp(`not enough space in ${inbox}/[0-9a-f-]{36} for the pull of the standby's export [0-9a-f-]{36}: need 64\\.\\d MiB .*free 16\\.0 MiB`));
        assert.deepEqual(eventIds(pair, "primary"), ["before"]);

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
        assert.deepEqual(eventIds(pair, "primary"), ["before", "s1"]);
        const handback = pair.stateFile<{ id: string }>("standby", "handback.json")!;
        assert.deepEqual(fs.readdirSync(inbox).sort(), [handback.id, "old-2"].sort());
    });

    it("brings Litestream back when the replicas cannot start over, and starts them over on the next run", async (t) => {
        const pair = await pairFor(t, bundle);
        standbyServed(pair, ["s1"]);
        pair.unit("primary", LITESTREAM, true);
        const localState = path.join(pair.primary.data, ".events.db-litestream");
        fs.mkdirSync(localState);
        // The standby cannot empty its replica directory: a file stands where it should be.
        const replicaDir = pair.standby.config.replicaDir;
        fs.writeFileSync(replicaDir, "");
        const failed = pair.run("primary", ["flip", "serve"]);
        assert.equal(failed.status, FLIP_SERVED_WITH_DEBT, failed.output);
        assert.match(failed.stderr, /failback: merged .*; but replication did not start again: .*This host serves without a replica on the standby until it does: .*run pulumi up -s primary again, which replicates afresh/s);
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

    it("serves with the standby's writes merged when Litestream will not start again, says so, and replicates afresh on the next run", async (t) => {
        const pair = await pairFor(t, bundle);
        standbyServed(pair, ["s1"]);
        pair.unit("primary", LITESTREAM, true);
        const failStart = path.join(pair.primary.systemd, "fail-start");
        fs.writeFileSync(failStart, "Job for wirebot-litestream.service failed because the control process exited with error code.\n");
        const failed = pair.run("primary", ["flip", "serve"]);
        assert.equal(failed.status, FLIP_SERVED_WITH_DEBT, failed.output);
        assert.match(failed.stderr, /but replication did not start again: Command failed: systemctl start wirebot-litestream\.service: Job for wirebot-litestream\.service failed because the control process exited with error code\. This host serves/);
        assert.deepEqual(eventIds(pair, "primary"), ["before", "s1"], "the merge is done");
        assert.ok(pair.stateFile("primary", "reseed-pending.json"), "the reseed is owed");
        assert.match(failed.stdout, /alert \(no webhook configured\): \[[^\]]+\] failback: replication did not start again/);

        fs.rmSync(failStart);
        const again = pair.run("primary", ["flip", "serve"]);
        assert.equal(again.status, 0, again.output);
        assert.match(again.stdout, /replicate afresh/);
        assert.equal(pair.isActive("primary", LITESTREAM), true);
        assert.equal(pair.stateFile("primary", "reseed-pending.json"), null);
    });

    it("ends its waits within the budget its serving step gives it, and the next run resumes", async (t) => {
        const pair = await pairFor(t, bundle);
        standbyServed(pair, ["s1"]);
        const started = Date.now();
        const slow = pair.run("primary", ["flip", "serve"], { env: { [FLIP_BUDGET_ENV]: "3", FAKE_PULL_SECONDS: "60" }, timeoutMs: 30_000 });
        assert.equal(slow.status, 1, slow.output);
        assert.ok(Date.now() - started < 12_000, `the flip took ${Date.now() - started} ms`);
        assert.match(slow.stderr, /the pull of the standby's export did not finish within the [\d.]+ s left of the flip's budget of 3 s .*wirebot:remoteTimeoutSeconds/);
        assert.deepEqual(eventIds(pair, "primary"), ["before"], "nothing merged yet");
        const again = pair.run("primary", ["flip", "serve"], { env: { [FLIP_BUDGET_ENV]: "20" } });
        assert.equal(again.status, 0, again.output);
        assert.deepEqual(eventIds(pair, "primary"), ["before", "s1"]);
    });
});
