import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { classifyFailure, errorDetail, lockedMessage, lockHolder, REFUSAL_MARKER } from "../../src/cli/failure";
import { Progress } from "../../src/cli/progress";
import { recording, servingStepEvents } from "./ops-fakes";

// The step list rendered from engine events, the hosts' refusal extracted from
// a failed up, and the update lock's holder put in words.

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
            "wirebot-failover: the standby cannot be asked (connect ECONNREFUSED 10.77.0.11:8300); stopping the primary now would leave nobody serving. Bring the standby back, then run pulumi up -s primary again",
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

    it("the provider's error loses its command line", () => {
        assert.deepEqual(errorDetail('Process exited with status 124: running "timeout -k 10 310 sh -s -- create":\nwirebot-failover: step standby-serving (create) timed out after 300s on host standby (10.0.0.2)'), ["Process exited with status 124"]);
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
