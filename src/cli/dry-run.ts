import { formatSeconds, Progress } from "./progress";
import { EXIT, Io } from "./io";
import { classifyFailure } from "./failure";
import type { Plan } from "./plan";
import { ACTIVE_SIDE_KEY, OpsStack, StackRole, UpFailed } from "./stacks";

/**
 * `--dry-run`: a preview of each stack the command would bring up, in order,
 * with the active side it would set. Nothing changes: each preview reads a
 * temporary copy of the stack's config with the new value, and the stack's own
 * config file is never written, not even for a moment, so a `pulumi up` in
 * another terminal cannot pick up a value that was only being previewed.
 */
export async function dryRun(plan: Plan, stacks: Record<StackRole, OpsStack>, io: Io): Promise<number> {
    for (const step of plan.ups) {
        const stack = stacks[step.stack];
        const started = io.now();
        io.out(`pulumi preview -s ${stack.name} with ${ACTIVE_SIDE_KEY}=${plan.target}: ${step.why}`);
        const progress = new Progress(io.out, true);
        try {
            await stack.preview((e) => progress.onEvent(e, io.now()), { [ACTIVE_SIDE_KEY]: plan.target });
        } catch (err) {
            if (!(err instanceof UpFailed)) throw err;
            const failure = classifyFailure(progress.failedSteps(), progress.programErrors, err.text);
            io.err(`preview of stack ${stack.name} failed:`);
            for (const line of [...failure.hostLines, ...failure.detail]) io.err(`  ${line}`);
            io.err("Nothing was changed.");
            return EXIT.failed;
        }
        const { changed, same } = progress.counts();
        io.out(`  ${changed} to change, ${same} unchanged (${formatSeconds(io.now() - started)})`);
    }
    if (plan.ups.length > 1) io.out("The standby stack's preview reads the primary stack's outputs as its last update recorded them, not as the up above would leave them.");
    io.out("Dry run: nothing was changed, neither the stacks' config nor the hosts. A preview does not run the hosts' own checks: a flip they refuse shows only when the command runs.");
    return EXIT.ok;
}
