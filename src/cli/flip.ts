import { classifyFailure, Failure, lockedMessage, remedies } from "./failure";
import { dryRun } from "./dry-run";
import { EXIT, Io } from "./io";
import { describeHolder, currentHolder } from "./operator-lock";
import { ConfigChange, FlipCommand, nothingToDo, Plan, planFlip } from "./plan";
import { formatSeconds, Progress } from "./progress";
import { ACTIVE_SIDE_KEY, OpsProject, OpsStack, StackLocked, StackRole, UpFailed } from "./stacks";
import { hostAddresses, plainOutput, readStack, StackView } from "./state";

// The four flips share one runner: read both stacks, plan, then set the config
// and bring the stacks up in order, rendering the engine's steps. A refusal by
// the hosts on the first up puts the config back: nothing changed. Any other
// failure leaves the config as set, so running the same command again
// finishes the flip; so does a flip that served with a debt (the host serves,
// the step failed on purpose so that the next up pays what it owes).

export interface FlipOptions {
    project: OpsProject;
    io: Io;
    dryRun: boolean;
    /** Takes the project's operator lock; returns its release (operator-lock.ts acquireLock). */
    lock: (dir: string, command: string) => () => void;
}

type Stacks = Record<StackRole, OpsStack>;
type Views = Record<StackRole, StackView>;

export async function runFlip(command: FlipCommand, options: FlipOptions): Promise<number> {
    const { project, io } = options;
    const started = io.now();
    if (options.dryRun) {
        const holder = currentHolder(project.dir);
        if (holder) io.out(`note: ${describeHolder(holder, io.now())} is running now; this preview shows the stacks as they are before it ends.`);
    }
    const release = options.dryRun ? undefined : options.lock(project.dir, command);
    try {
        const stacks: Stacks = { primary: await project.stack("primary"), standby: await project.stack("standby") };
        const [primary, standby] = await Promise.all([readStack(stacks.primary), readStack(stacks.standby)]);
        const views: Views = { primary, standby };
        const plan = planFlip(command, views);
        describePlan(plan, stacks, io);
        if (plan.ups.length === 0 && plan.configChanges.length === 0) {
            io.out(nothingToDo(plan));
            return EXIT.ok;
        }
        if (options.dryRun) return await dryRun(plan, stacks, io);
        return await execute(plan, stacks, views, io, started);
    } finally {
        release?.();
    }
}

function describePlan(plan: Plan, stacks: Stacks, io: Io): void {
    io.out(`${plan.command}: make the ${plan.target} the active side`);
    if (plan.resumed) io.out(`  resuming: ${plan.resumed}`);
    for (const c of plan.configChanges) io.out(`  config: ${ACTIVE_SIDE_KEY} ${c.from} -> ${c.to} on stack ${stacks[c.stack].name}`);
    if (plan.configChanges.length === 0) io.out(`  config: ${ACTIVE_SIDE_KEY} is already ${plan.target} where it needs to be`);
    for (const [i, up] of plan.ups.entries()) io.out(`  ${i + 1}. pulumi up -s ${stacks[up.stack].name}: ${up.why}`);
}

async function execute(plan: Plan, stacks: Stacks, views: Views, io: Io, started: number): Promise<number> {
    const changed: ConfigChange[] = [];
    for (const c of plan.configChanges) {
        await stacks[c.stack].setConfig(ACTIVE_SIDE_KEY, c.to);
        changed.push(c);
    }
    const addresses = hostAddresses(views);
    let upsDone = 0;
    for (const step of plan.ups) {
        const stack = stacks[step.stack];
        const stepStarted = io.now();
        io.out(`pulumi up -s ${stack.name}`);
        const progress = new Progress(io.out);
        try {
            await stack.up((e) => progress.onEvent(e, io.now()));
        } catch (err) {
            if (err instanceof StackLocked) {
                const restored = upsDone === 0 ? await restore(changed, stacks) : [];
                for (const line of lockedMessage(stack.name, err.holder, upsDone > 0)) io.err(line);
                for (const line of restored) io.err(line);
                return EXIT.locked;
            }
            if (!(err instanceof UpFailed)) throw err;
            const failure = classifyFailure(progress.failedSteps(), progress.programErrors, err.text);
            return await reportFailure(plan, failure, { stack, stacks, changed, upsDone, address: failure.host && addresses[failure.host] }, io);
        }
        upsDone += 1;
        const { changed: n, same } = progress.counts();
        io.out(`  stack ${stack.name}: ${n} changed, ${same} unchanged, ${formatSeconds(io.now() - stepStarted)}`);
    }
    io.out(`active side: ${plan.target}. Total ${formatSeconds(io.now() - started)}.`);
    const next = await nextCommand(stacks.standby);
    if (plan.after) io.out(`next: ${plan.after}`);
    else if (next) io.out(`next (standby stack): ${next}`);
    return EXIT.ok;
}

async function nextCommand(stack: OpsStack): Promise<string | undefined> {
    try {
        const value = plainOutput({ outputs: await stack.outputs() }, "nextCommand");
        return typeof value === "string" ? value : undefined;
    } catch {
        return undefined;
    }
}

/** Puts back the config this run changed; returns what it says about it. */
async function restore(changed: ConfigChange[], stacks: Stacks): Promise<string[]> {
    if (changed.length === 0) return [];
    for (const c of changed) await stacks[c.stack].setConfig(ACTIVE_SIDE_KEY, c.from);
    return [`The config is as it was: ${changed.map((c) => `${ACTIVE_SIDE_KEY} ${c.from} on stack ${stacks[c.stack].name}`).join(", ")}.`];
}

interface FailureContext {
    stack: OpsStack;
    stacks: Stacks;
    changed: ConfigChange[];
    upsDone: number;
    address: string | undefined;
}

async function reportFailure(plan: Plan, failure: Failure, ctx: FailureContext, io: Io): Promise<number> {
    const where = failure.host ? `the ${failure.host} host${ctx.address ? ` (${ctx.address})` : ""}` : `stack ${ctx.stack.name}`;
    if (failure.kind === "refused") {
        io.err(`Refused by ${where}, in pulumi up -s ${ctx.stack.name}:`);
        const reason = failure.hostLines.length ? failure.hostLines : failure.detail;
        for (const line of reason) io.err(`  ${line}`);
        if (ctx.upsDone === 0) {
            const restored = await restore(ctx.changed, ctx.stacks);
            io.err(`Nothing changed: the hosts are as they were.${restored.length ? ` ${restored.join(" ")}` : ""}`);
        } else {
            io.err(`The steps above were done; this one changed nothing. The config says ${plan.target}; once the reason above is dealt with, run wirebot-ops ${plan.command} again: it runs only what is left.`);
        }
        const ways = remedies(reason.join("\n"), plan.command, plan.ups.some((u) => u.stack === "primary"));
        if (ways.length) io.err("What to do:");
        for (const way of ways) io.err(`  ${way}`);
        return EXIT.refused;
    }
    if (failure.kind === "debt") {
        // The flip's work is done and the host serves; the step failed so that the next up pays what the flip still owes.
        const side = failure.host ?? plan.target;
        io.err(`pulumi up -s ${ctx.stack.name} failed on ${where}, but the ${side} serves: its flip is done and left a debt:`);
        for (const line of [...failure.hostLines, ...failure.detail]) io.err(`  ${line}`);
        io.err(
            `The ${side} serves (the services and the connector run); the command failed because what the flip owes is not done yet (the host's line above says what and why). ` +
                `The config says ${plan.target} on both stacks${ctx.changed.length ? " (set by this run)" : ""}; leave it so. Once the cause is fixed, run wirebot-ops ${plan.command} again: it finishes the flip and runs what is left.`,
        );
        return EXIT.failed;
    }
    io.err(`pulumi up -s ${ctx.stack.name} failed${failure.resource ? ` at step ${failure.resource}` : ""} on ${where}:`);
    for (const line of [...failure.hostLines, ...failure.detail]) io.err(`  ${line}`);
    const unreachable = failure.detail.some((l) => /dial|connect|no route|timed out|handshake|unreachable|i\/o timeout/i.test(l));
    if (unreachable && failure.host) io.err(`${where} cannot be reached over SSH: check that it is up and that this machine reaches it.`);
    const set = ctx.changed.length ? " (set by this run)" : "";
    io.err(`The config says ${plan.target} on both stacks${set}. Once the cause is fixed, run wirebot-ops ${plan.command} again: it runs only what is left.`);
    if (ctx.upsDone === 0 && ctx.changed.length) {
        const back = ctx.changed.map((c) => `pulumi config set -s ${ctx.stacks[c.stack].name} ${ACTIVE_SIDE_KEY} ${c.from}`).join(" && ");
        io.err(`To leave the config as it was instead: ${back}`);
    }
    return EXIT.failed;
}
