import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { adoptedPrimaryOptions, existingStandbyOptions } from "./fixtures";
import { ProgramRun, RecordedResource, runProgram, RunOptions } from "./harness";
import { FLIP_BUDGET_ENV } from "../../agent/contract";
import { flipBudgetSeconds } from "../../src/components/serving-role";

/** Names of resources whose inputs differ between two runs, plus any added or removed. */
function changedResources(a: RecordedResource[], b: RecordedResource[]): string[] {
    const index = (rs: RecordedResource[]) => new Map(rs.map((r) => [`${r.type}::${r.name}`, JSON.stringify(r.inputs)]));
    const before = index(a);
    const after = index(b);
    const names = new Set([...before.keys(), ...after.keys()]);
    return [...names].filter((n) => before.get(n) !== after.get(n)).map((n) => n.split("::")[1]).sort();
}

async function flip(options: (o?: Record<string, unknown>) => RunOptions) {
    const asPrimary = await runProgram(options({ activeSide: "primary" }));
    const asStandby = await runProgram(options({ activeSide: "standby" }));
    return { asPrimary, asStandby, changed: changedResources(asPrimary.resources, asStandby.resources) };
}

describe("flipping the active side", () => {
    it("changes only the primary's serving step in the primary stack", async () => {
        const { asPrimary, asStandby, changed } = await flip(adoptedPrimaryOptions);
        assert.deepEqual(changed, ["primary-serving"]);
        assert.match(asPrimary.byName("primary-serving").inputs.stdin, /^SERVING='yes'$/m);
        assert.match(asStandby.byName("primary-serving").inputs.stdin, /^SERVING='no'$/m);
    });

    it("changes only the standby's serving step in the standby stack: an emergency flip never has to reach the primary", async () => {
        const { asPrimary, asStandby, changed } = await flip(existingStandbyOptions);
        assert.deepEqual(changed, ["standby-serving"]);
        assert.match(asPrimary.byName("standby-serving").inputs.stdin, /^SERVING='no'$/m);
        assert.match(asStandby.byName("standby-serving").inputs.stdin, /^SERVING='yes'$/m);
        for (const run of [asPrimary, asStandby]) {
            assert.match(run.byName("primary-feeders").inputs.stdin, /^UNITS='[^']*wirebot-replicator\.service'$/m, "the feeders run whichever side is active");
            assert.match(run.byName("primary-feeders").inputs.stdin, /systemctl enable --now \$UNITS/);
            assert.match(run.byName("standby-watchdog").inputs.stdin, /^UNITS='wirebot-watchdog\.service'$/m, "the watchdog answers on either side");
        }
    });

    // Both serving steps, the primary's with a time limit of its own: read by the tests below.
    let servingSteps: { primary: ProgramRun; standby: ProgramRun } | undefined;
    const runs = async () => (servingSteps ??= { primary: await runProgram(adoptedPrimaryOptions({ remoteTimeoutSeconds: 100 })), standby: await runProgram(existingStandbyOptions()) });

    it("runs the agent's flip first in both serving steps, where the handover and the refusals live", async () => {
        const { primary, standby } = await runs();
        for (const stdin of [primary.byName("primary-serving").inputs.stdin as string, standby.byName("standby-serving").inputs.stdin as string]) {
            assert.match(stdin, /^FLIP_COMMAND='\/usr\/local\/bin\/wirebot-failover flip'$/m);
            const body = stdin.slice(stdin.indexOf("step_create()"));
            const firstChange = Math.min(body.indexOf("start_now $SERVICES"), body.indexOf('disable --now "$CONNECTOR"'));
            assert.ok(firstChange > 0 && body.indexOf("run_flip") < firstChange, "the flip runs before anything starts or stops");
        }
    });

    it("gives the flip a share of its serving step's time limit, so the agent's waits end before the step is killed", async () => {
        const { primary, standby } = await runs();
        const cases = [
            { run: primary, step: "primary-serving", seconds: 100 },
            { run: standby, step: "standby-serving", seconds: 300 },
        ];
        for (const { run, step, seconds } of cases) {
            const { stdin, create } = run.byName(step).inputs;
            assert.match(create, new RegExp(`timeout -k 10 ${seconds} sh -s -- create`), "the step's own limit");
            const budget = Number(/^FLIP_BUDGET_SECONDS='(\d+)'$/m.exec(stdin)?.[1]);
            assert.equal(budget, flipBudgetSeconds(seconds));
            assert.ok(budget > 0 && budget <= seconds * 0.75, `${step}: a budget of ${budget} s leaves the rest of the step too little of ${seconds} s`);
            assert.match(stdin, new RegExp(`${FLIP_BUDGET_ENV}=\\$FLIP_BUDGET_SECONDS "\\$@"`), "the flip command gets it in its environment");
        }
    });

    it("is deterministic: the same config registers identical inputs twice", async () => {
        const first = await runProgram(existingStandbyOptions());
        const second = await runProgram(existingStandbyOptions());
        assert.deepEqual(changedResources(first.resources, second.resources), []);
    });

    it("orders activation: services then connector when serving, connector first when not", async () => {
        const { asPrimary } = await flip(adoptedPrimaryOptions);
        const script = asPrimary.byName("primary-serving").inputs.stdin as string;
        const body = script.slice(script.indexOf("step_create()"));
        assert.ok(body.indexOf("start_now $SERVICES") > 0 && body.indexOf("start_now $SERVICES") < body.indexOf('start_now "$CONNECTOR"'));
        assert.ok(body.indexOf('disable --now "$CONNECTOR"') < body.indexOf("disable --now $SERVICES"));
    });
});
