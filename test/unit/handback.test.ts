import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { buildAgentBundle } from "../../agent/build";
import { CONNECTOR, eventIds, pairFor, SERVICE, standbyServed } from "./loopback-hosts";

// The failback's hand-back, with the bundled agent on both sides (see
// loopback-hosts.ts): the standby stops and exports, the primary pulls and merges
// with the real wirebot-merge and sqlite3. Each run of a side is a fresh process,
// as each pulumi up is; killing the watchdog and starting it again is a crash.

describe("the failback's hand-back", { concurrency: 3 }, () => {
    const bundle = buildAgentBundle();

    it("refuses an export the standby has no room for before it stops: it goes on serving with nothing recorded, and the next run, with room, merges before the primary serves", async (t) => {
        const pair = await pairFor(t, bundle);
        standbyServed(pair, ["s1"]);
        // The standby's sync directory, where the export goes, has room for the copy but not for the margin.
        await pair.startWatchdog([{ target: pair.standbySync, size: "16m" }]);
        const failed = pair.run("primary", ["flip", "serve"]);
        assert.notEqual(failed.status, 0, failed.output);
        assert.match(
            failed.stderr,
            new RegExp(`not enough space in ${pair.standbySync} for the copy of this standby's databases and files: need 64\\.\\d MiB \\(0\\.\\d MiB plus a 64\\.0 MiB margin\\), free 16\\.0 MiB; free some and run it again; this standby goes on serving, nothing was stopped`),
        );
        assert.doesNotMatch(failed.stderr, /^\s+at /m, "the standby's reason, not a stack trace");
        assert.equal(pair.isActive("standby", CONNECTOR), true, "the standby still serves");
        assert.equal(pair.isActive("standby", SERVICE), true);
        assert.equal(pair.stateFile("standby", "handback.json"), null, "nothing is recorded");
        assert.equal(fs.existsSync(path.join(pair.standbySync, "outbox.partial")), false, "nothing half-written");
        assert.deepEqual(eventIds(pair, "primary"), ["before"]);

        // The standby's agent restarts with room again; the same flip runs again.
        await pair.startWatchdog();
        const again = pair.run("primary", ["flip", "serve"]);
        assert.equal(again.status, 0, again.output);
        assert.match(again.stdout, /failback: merged/);
        assert.deepEqual(eventIds(pair, "primary"), ["before", "s1"], "the standby's write is on the primary");
        const handback = pair.stateFile<{ state: string; merged: boolean }>("standby", "handback.json");
        assert.equal(handback?.state, "merged");
        assert.equal(handback?.merged, true, "readers of the record before its state field see it merged too");
        assert.equal(pair.isActive("standby", SERVICE), false);
    });

    it("finishes an export a crash left halfway, under the same id", async (t) => {
        const pair = await pairFor(t, bundle);
        standbyServed(pair, ["s1"]);
        // The standby died after recording its intent and stopping its units, before its copy was made.
        pair.writeStateFile("standby", "handback.json", { id: "0c9c4bb4-5f0e-4c8c-9f55-6a3b1f0e2d11", at: new Date().toISOString(), state: "exporting", exported: [], merged: false });
        pair.unit("standby", SERVICE, false);
        pair.unit("standby", CONNECTOR, false);
        const flip = pair.run("primary", ["flip", "serve"]);
        assert.equal(flip.status, 0, flip.output);
        assert.match(flip.stderr + flip.stdout, /export 0c9c4bb4-5f0e-4c8c-9f55-6a3b1f0e2d11/);
        assert.deepEqual(eventIds(pair, "primary"), ["before", "s1"]);
    });

    it("keeps a standby with an unmerged export from taking over again, outbox and all, until the operator sets the export aside", async (t) => {
        const pair = await pairFor(t, bundle);
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
        const pair = await pairFor(t, bundle);
        standbyServed(pair, ["s1"]);
        pair.unit("standby", SERVICE, false);
        pair.unit("standby", CONNECTOR, false);
        const refused = pair.run("standby", ["flip", "stand-down"]);
        assert.equal(refused.status, 1, refused.output);
        assert.match(refused.stderr, /took over at .* and stopped without handing back what it wrote: run pulumi up -s primary/);
        const flip = pair.run("primary", ["flip", "serve"]);
        assert.equal(flip.status, 0, flip.output);
        assert.deepEqual(eventIds(pair, "primary"), ["before", "s1"], "the primary's failback has it export");
        assert.equal(pair.run("standby", ["flip", "stand-down"]).status, 0);
    });

    it("does not serve the primary while the standby cannot be asked, unless the operator gave the standby up", async (t) => {
        const pair = await pairFor(t, bundle);
        await pair.stopWatchdog();
        const refused = pair.run("primary", ["flip", "serve"]);
        assert.equal(refused.status, 1, refused.output);
        assert.match(refused.stderr, /the standby cannot be asked .*Bring the standby's agent back.*wirebot-failover forget-standby/);

        assert.equal(pair.run("primary", ["forget-standby"]).status, 0);
        // Giving up the standby's writes does not say that it does not serve: without a witness, the operator says that too.
        const unsure = pair.run("primary", ["flip", "serve"]);
        assert.equal(unsure.status, 1, unsure.output);
        assert.match(unsure.stderr, /no witness is configured .*override-serve.*the operator's forget-standby of .* stands for the next flip/);
        assert.equal(pair.run("primary", ["override-serve"]).status, 0);
        const served = pair.run("primary", ["flip", "serve"]);
        assert.equal(served.status, 0, served.output);
        assert.match(served.stdout, /serving without its writes/);
        assert.equal(pair.run("primary", ["flip", "serve"]).status, 1, "the operator's word counts for one flip");
    });
});
