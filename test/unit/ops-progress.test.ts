import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { FLIP_SERVED_WITH_DEBT } from "../../agent/contract";
import { classifyFailure, DEBT_MARKER, errorDetail, lockedMessage, lockHolder, REFUSAL_MARKER, remedies } from "../../src/cli/failure";
import { Progress } from "../../src/cli/progress";
import { recording, servingStepEvents } from "./ops-fakes";

// The step list rendered from engine events, the hosts' refusal extracted from
// a failed up, and the update lock's holder put in words.

const DEBT_REASON =
    "failback: merged events 12 new, 0 already there; files: none; but replication did not start again: Job for wirebot-litestream.service failed. " +
    "This host serves without a replica on the standby until it does: fix the cause (journalctl -u wirebot-litestream), then run pulumi up -s primary again, which replicates afresh";

function replay(name: string, preview = false): { lines: string[]; progress: Progress } {
    const lines: string[] = [];
    const progress = new Progress((l) => lines.push(l), preview);
    for (const { at, event } of recording(name).events) progress.onEvent(event, at);
    return { lines, progress };
}

describe("progress from recorded engine events", () => {
    it("lists the changed step with its operation, duration and the host agent's line; unchanged resources are only counted", () => {
        const { lines, progress } = replay("up-switchover-primary");
        assert.deepEqual(lines, [
            "  ✓ primary-serving          replace    1.0 s",
            "      wirebot-failover: switchover: writes stopped and shipped, the standby serves",
            "  ✓ primary-serving          remove old 0.0 s",
        ]);
        assert.deepEqual(progress.counts(), { changed: 1, same: 2 });
        assert.equal(progress.result, "succeeded");
    });

    it("marks the refused step failed and keeps the agent's reason and the engine's error for it", () => {
        const { lines, progress } = replay("up-refused-primary");
        assert.equal(lines[0], "  ✗ primary-serving          replace    failed after 0.0 s");
        assert.match(lines[1], /^ {6}wirebot-failover: the standby cannot be asked \(connect ECONNREFUSED 10\.77\.0\.11:8300\)/);
        const [failed] = progress.failedSteps();
        assert.equal(failed.resource, "primary-serving");
        assert.match(failed.error ?? "", /exit status 1: running/);
        assert.equal(progress.result, "failed");
        assert.deepEqual(progress.programErrors, [], "the engine's closing 'update failed' is not a program error");
    });

    it("lists what a preview would change, once per replacement", () => {
        const { lines, progress } = replay("preview-switchover-primary", true);
        assert.deepEqual(lines, ["  ~ primary-serving          would replace"]);
        assert.deepEqual(progress.counts(), { changed: 1, same: 2 });
    });
});

describe("a failed up, in the operator's words", () => {
    it("a refusal: the host, the step, the agent's reason, without the command line", () => {
        const { progress } = replay("up-refused-primary");
        const failure = classifyFailure(progress.failedSteps(), progress.programErrors, "");
        assert.equal(failure.kind, "refused");
        assert.equal(failure.host, "primary");
        assert.equal(failure.resource, "primary-serving");
        assert.deepEqual(failure.hostLines, [
            "wirebot-failover: the standby cannot be asked (connect ECONNREFUSED 10.77.0.11:8300); stopping the primary now would leave nobody serving. Bring the standby's agent back, then run pulumi up -s primary again",
        ]);
        assert.ok(!failure.detail.some((l) => l.includes("running")), failure.detail.join("\n"));
    });

    it("a step that fails otherwise (the remote command provider's wording) is a failure, not a refusal", () => {
        const progress = new Progress(() => undefined);
        for (const e of servingStepEvents("standby", { kind: "failed", error: "wirebot-scoreboard.service does not run (failed/failed); its last log lines:" })) progress.onEvent(e, 0);
        const failure = classifyFailure(progress.failedSteps(), progress.programErrors, "");
        assert.equal(failure.kind, "failed");
        assert.equal(failure.host, "standby");
        assert.deepEqual(failure.detail, ["Process exited with status 1", "wirebot-scoreboard.service does not run (failed/failed); its last log lines:"]);
    });

    it("an exception of the program itself (a host key mismatch) is shown without the runtime's preamble and stack trace", () => {
        // As the engine reported a program's ConfigError in a recorded up.
        const error =
            "Running program '/srv/wirebot-failover/index.ts' failed with an unhandled exception:\nConfigError: invalid configuration:\n  wirebot:primary.hostKey (stack primary): the primary host presents another SSH host key\n" +
            "    at standbyHost (/srv/wirebot-failover/src/stacks/standby.ts:170:15)\n    at Module._compile (node:internal/modules/cjs/loader:1929:14)\n";
        const failure = classifyFailure([], [error], "");
        assert.equal(failure.kind, "failed");
        assert.equal(failure.host, undefined);
        assert.deepEqual(failure.detail, ["ConfigError: invalid configuration:", "wirebot:primary.hostKey (stack primary): the primary host presents another SSH host key"]);
    });

    it("with no events at all, the refusal is still found in the engine's output", () => {
        const text = `Updating (standby):\n    error: wirebot-failover: the primary is alive (last heartbeat 2 s ago)\n${REFUSAL_MARKER}\n`;
        const failure = classifyFailure([], [], text);
        assert.equal(failure.kind, "refused");
        assert.deepEqual(failure.hostLines, []);
        assert.deepEqual(failure.detail, ["wirebot-failover: the primary is alive (last heartbeat 2 s ago)"]);
    });

    it("a flip that served with a debt: the host serves, the step failed on purpose, the agent's line says what is owed", () => {
        const progress = new Progress(() => undefined);
        for (const e of servingStepEvents("primary", { kind: "debt", reason: DEBT_REASON })) progress.onEvent(e, 0);
        const failure = classifyFailure(progress.failedSteps(), progress.programErrors, "");
        assert.equal(failure.kind, "debt");
        assert.equal(failure.host, "primary");
        assert.deepEqual(failure.hostLines, [`wirebot-failover: ${DEBT_REASON}`]);
        assert.ok(!failure.detail.some((l) => l.startsWith(DEBT_MARKER)), failure.detail.join("\n"));
    });

    it("knows set-serving.sh's words for a refusal and for a debt, and the flip's exit status for a debt", () => {
        const script = fs.readFileSync(path.join(__dirname, "../../host/scripts/set-serving.sh"), "utf8");
        assert.ok(script.includes(`echo "${REFUSAL_MARKER}"`), "the refusal marker");
        // echo "serving, but $DEBT" with DEBT="the flip left a debt (above); ...".
        const debt = /DEBT="([^"]+)"/.exec(script)?.[1] ?? "";
        assert.ok(script.includes('echo "serving, but $DEBT" >&2'), "the debt line");
        assert.ok(`serving, but ${debt}`.startsWith(DEBT_MARKER), `the debt marker: serving, but ${debt}`);
        assert.ok(script.includes(`SERVED_WITH_DEBT=${FLIP_SERVED_WITH_DEBT}\n`), "the flip's exit status for a debt");
    });

    it("the provider's error loses its command line", () => {
        assert.deepEqual(errorDetail('Process exited with status 124: running "timeout -k 10 310 sh -s -- create":\nwirebot-failover: step standby-serving (create) timed out after 300s on host standby (10.0.0.2)'), ["Process exited with status 124"]);
    });
});

describe("the hosts' refusals, their way out in wirebot-ops terms", () => {
    // The host agent's messages as they are worded (agent/src/takeover/failback.ts, flip.ts, activation.ts, heartbeat/standby-unknown.ts).
    const lostStandby =
        "wirebot-failover: the standby cannot be asked (fetch failed (ECONNREFUSED)), and the witness cannot tell who serves (timed out after 3000 ms); " +
        "not starting: if you know that the standby does not serve, allow this host deliberately: run wirebot-failover override-serve on it (valid 15 minutes), then start again (systemctl start the unit, or pulumi up -s primary). " +
        "Besides, the standby may have served, and the primary would serve without what it wrote. Bring the standby's agent back, then run pulumi up -s primary again. " +
        "If the standby is lost for good, and its writes with it: run wirebot-failover forget-standby on the primary, then pulumi up -s primary";

    it("a failback without the standby: bring it back, or forget-standby and override-serve on the primary, then the same command again", () => {
        assert.deepEqual(remedies(lostStandby, "failback"), [
            "Bring the standby's agent back, then run wirebot-ops failback again.",
            "If the standby is lost for good, and its writes with it: run wirebot-failover forget-standby on the primary, then wirebot-ops failback again (it gives up the writes; who serves still needs the witness or override-serve).",
            "If you know that the standby does not serve: run wirebot-failover override-serve on the primary (valid 15 minutes), then wirebot-ops failback again.",
        ]);
    });

    it("once forget-standby stands, only override-serve is left to give", () => {
        const forgotten =
            "wirebot-failover: the standby cannot be asked (connect ECONNREFUSED 10.77.0.11:8300), and no witness is configured (agent.witnessUrl) to tell whether the standby serves; not starting: if you know that the standby does not serve, allow this host deliberately: run wirebot-failover override-serve on it (valid 15 minutes), then start again (systemctl start the unit, or pulumi up -s primary) (the operator's forget-standby of 2026-11-27T10:00:00.000Z stands for the next flip)";
        assert.deepEqual(remedies(forgotten, "failback"), ["If you know that the standby does not serve: run wirebot-failover override-serve on the primary (valid 15 minutes), then wirebot-ops failback again."]);
    });

    it("an emergency failover refused for an unmerged export: merge it first, or keep-export on the standby when the primary is lost", () => {
        const unmerged =
            "wirebot-failover: this standby's export 5f0c of 2026-11-27T09:00:00.000Z is not merged into the primary yet: the writes it took last time exist only here, and taking over again would set them aside. " +
            "Merge them first: fail back (wirebot:activeSide primary on both stacks, pulumi up -s primary), or on a primary that already serves run wirebot-failover flip serve. " +
            "If the primary is lost and cannot take them: wirebot-failover keep-export on this standby sets them aside for a merge by hand, then take over again";
        const ways = remedies(unmerged, "failover");
        assert.equal(ways.length, 2);
        assert.match(ways[0], /wirebot-ops failback finishes a failback left halfway; on a primary that already serves, run wirebot-failover flip serve there/);
        assert.match(ways[1], /run wirebot-failover keep-export on the standby .*, then wirebot-ops failover again/);
        assert.equal(remedies(unmerged, "switchover").length, 1, "keep-export is for a lost primary, not a switchover");
    });

    it("the primary alive, an automatic failover not acknowledged, a standby taking over, a witness that cannot tell", () => {
        assert.deepEqual(remedies("wirebot-failover: the primary is alive (last heartbeat 3 s ago): a switchover is run from the primary", "failover"), [
            "The primary is up: a planned switchover stops its writes first and loses nothing: wirebot-ops switchover.",
        ]);
        assert.match(remedies("wirebot-failover: the standby took over automatically at 2026-11-27T09:40:31.000Z (primary missed 3 heartbeats) and the config was never flipped to acknowledge it; its writes since then exist only there. Acknowledge first: ...", "failback")[0], /wirebot-ops acknowledge; then wirebot-ops failback/);
        assert.match(remedies("wirebot-failover: the standby is taking over right now (its watchdog or an emergency flip); run pulumi up -s primary again once it serves, after acknowledging it", "failback")[0], /Once the standby serves: wirebot-ops acknowledge, then wirebot-ops failback/);
        assert.match(remedies("wirebot-failover: the witness cannot be reached, which is no proof that the primary is gone; not activating. If you know it is down: wirebot-failover activate --force on this host", "failover")[0], /activate --force on the standby, then wirebot-ops failover again/);
        assert.match(
            remedies("wirebot-failover: this standby still takes writes and the primary has not taken them. Fail back with pulumi up -s primary (it stops this standby, merges its writes by event id and serves), then pulumi up -s standby", "failback", false)[0],
            /The primary stack did not run: .* Once the primary is back: wirebot-ops acknowledge, then wirebot-ops failback\./,
        );
        assert.deepEqual(remedies("wirebot-failover: Litestream cannot confirm the upload", "switchover"), []);
    });
});

describe("the update lock in words", () => {
    // As the Pulumi CLI (file backend) words it when another update holds the stack.
    const diy =
        "error: the stack is currently locked by 1 lock(s). Either wait for the other process(es) to end or delete the lock file with `pulumi cancel`.\n" +
        "  file:///tmp/backend/.pulumi/locks/organization/wirebot-failover/primary/0958d4cb-e77a-4f18-82c1-66be55b83469.json?no_tmp_dir=true: created by root@vm (pid 12197) at 2026-11-27T05:05:36Z";

    it("names the user, host, process and time the file backend records", () => {
        assert.equal(lockHolder(diy), "another update (root@vm, process 12197, since 2026-11-27T05:05:36Z)");
    });

    it("says Pulumi Cloud's conflict in words", () => {
        assert.match(lockHolder("[409] Conflict: Another update is currently in progress."), /another update in progress in Pulumi Cloud/);
    });

    it("tells what to do, and whether anything was done before", () => {
        const first = lockedMessage("primary", lockHolder(diy), false);
        assert.match(first[0], /^stack primary is locked: another update \(root@vm, process 12197, .*\) is running on it/);
        assert.equal(first[1], "Nothing was changed.");
        assert.match(first[2], /pulumi cancel -s primary/);
        assert.match(lockedMessage("standby", "another update", true)[1], /run this command again once the lock is released/);
    });
});
