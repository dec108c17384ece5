import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { FlipCommand, planFlip, StackStates } from "../../src/cli/plan";
import { appliedSide } from "../../src/cli/state";

// The order of operations of each flip, from the stacks' config and what their
// last updates applied: the primary stack, then the standby stack; the standby
// stack alone in an emergency; a half-finished run finished by running the
// same command again.

const state = (p: [string, string | undefined], s: [string, string | undefined]) =>
    ({ primary: { config: p[0], applied: p[1] }, standby: { config: s[0], applied: s[1] } }) as StackStates;

const steps = (command: FlipCommand, states: StackStates) => {
    const plan = planFlip(command, states);
    return [...plan.configChanges.map((c) => `set ${c.stack} ${c.to}`), ...plan.ups.map((u) => `up ${u.stack}`)];
};

const SETTLED_PRIMARY = state(["primary", "primary"], ["primary", "primary"]);
const SETTLED_STANDBY = state(["standby", "standby"], ["standby", "standby"]);

describe("the order of a flip's operations", () => {
    it("switchover: standby on both stacks, then the primary stack, then the standby stack", () => {
        assert.deepEqual(steps("switchover", SETTLED_PRIMARY), ["set primary standby", "set standby standby", "up primary", "up standby"]);
    });

    it("failback: primary on both stacks, then the primary stack (the merge), then the standby stack", () => {
        assert.deepEqual(steps("failback", SETTLED_STANDBY), ["set primary primary", "set standby primary", "up primary", "up standby"]);
    });

    it("emergency failover: standby on both stacks as the runbook sets it, then the standby stack alone", () => {
        const plan = planFlip("failover", SETTLED_PRIMARY);
        assert.deepEqual(steps("failover", SETTLED_PRIMARY), ["set primary standby", "set standby standby", "up standby"]);
        assert.match(plan.after ?? "", /Once the primary is back .* wirebot-ops acknowledge/);
    });

    it("acknowledge after an automatic failover (the config still says primary): standby on both, primary stack, then standby stack", () => {
        assert.deepEqual(steps("acknowledge", SETTLED_PRIMARY), ["set primary standby", "set standby standby", "up primary", "up standby"]);
    });

    it("acknowledge after an emergency failover: the config is set; the primary stack records the stand-down, then the standby stack its outputs", () => {
        assert.deepEqual(steps("acknowledge", state(["standby", "primary"], ["standby", "standby"])), ["up primary", "up standby"]);
    });

    it("nothing to do when both stacks already applied the side", () => {
        for (const command of ["switchover", "failover", "acknowledge"] as const) assert.deepEqual(steps(command, SETTLED_STANDBY), [], command);
        assert.deepEqual(steps("failback", SETTLED_PRIMARY), []);
    });
});

describe("running a half-finished flip again", () => {
    it("switchover whose standby stack failed: the config already says standby, only the standby stack runs", () => {
        const half = state(["standby", "standby"], ["standby", undefined]);
        const plan = planFlip("switchover", half);
        assert.deepEqual(steps("switchover", half), ["up standby"]);
        assert.match(plan.resumed ?? "", /the primary stack's last update already applied standby; running what is left/);
    });

    it("switchover whose primary stack failed (refused or unreachable): both stacks run again, in order", () => {
        assert.deepEqual(steps("switchover", state(["standby", undefined], ["standby", "primary"])), ["up primary", "up standby"]);
    });

    it("switchover stopped after the config was set, before any up: both stacks run", () => {
        assert.deepEqual(steps("switchover", state(["standby", "primary"], ["standby", "primary"])), ["up primary", "up standby"]);
    });

    it("failback whose standby stack failed: only the standby stack runs", () => {
        assert.deepEqual(steps("failback", state(["primary", "primary"], ["primary", undefined])), ["up standby"]);
    });

    it("an emergency failover that failed: the standby stack runs again, never the primary's", () => {
        assert.deepEqual(steps("failover", state(["standby", "primary"], ["standby", undefined])), ["up standby"]);
    });

    it("a stack whose latest update failed counts as not applied, whatever its outputs recorded", () => {
        assert.equal(appliedSide({ result: "failed", activeSide: "standby" }, "standby"), undefined);
        assert.equal(appliedSide({ result: "succeeded", activeSide: "standby" }, "standby"), "standby");
        assert.equal(appliedSide({ result: "succeeded", activeSide: "primary" }, "standby"), undefined);
        assert.equal(appliedSide(undefined, "primary"), undefined);
    });
});
