import type { StackState } from "./plan";
import { ACTIVE_SIDE_KEY, asSide, DEFAULT_SIDE, LastUpdate, OpsStack, OutputValue, Side } from "./stacks";

// A stack's side of a flip, read from Pulumi: the config, the outputs and the
// latest update. The outputs alone do not say that a flip converged: a failed
// up still records the program's outputs, activeSide included. A stack has
// applied a side when its latest update succeeded with that side and its
// outputs say the same.

export interface StackView extends StackState {
    /** `activeSide` in the stack's outputs: what its latest update recorded, failed or not. */
    recorded: Side | undefined;
    lastUpdate: LastUpdate | undefined;
    outputs: Record<string, OutputValue>;
}

export function appliedSide(lastUpdate: LastUpdate | undefined, recorded: Side | undefined): Side | undefined {
    if (lastUpdate?.result !== "succeeded") return undefined;
    return lastUpdate.activeSide === recorded ? recorded : undefined;
}

export async function readStack(stack: OpsStack): Promise<StackView> {
    const [configured, outputs, lastUpdate] = await Promise.all([stack.getConfig(ACTIVE_SIDE_KEY), stack.outputs(), stack.lastUpdate()]);
    const config = configured === undefined ? DEFAULT_SIDE : asSide(configured);
    if (!config) throw new Error(`stack ${stack.name}: ${ACTIVE_SIDE_KEY} is "${configured}"; set primary or standby: pulumi config set -s ${stack.name} ${ACTIVE_SIDE_KEY} primary`);
    const recorded = asSide(outputs.activeSide?.value);
    return { config, recorded, applied: appliedSide(lastUpdate, recorded), lastUpdate, outputs };
}

/** A plain output's value; secret outputs are not read here (they are the SSH keys). */
export function plainOutput(view: { outputs: Record<string, OutputValue> }, key: string): unknown {
    const output = view.outputs[key];
    return output && !output.secret ? output.value : undefined;
}

/** Each host's address as the stacks export it: the primary's from the primary stack, the standby's from the standby stack. */
export function hostAddresses(views: Record<"primary" | "standby", { outputs: Record<string, OutputValue> }>): Record<"primary" | "standby", string | undefined> {
    const primaryHost = plainOutput(views.primary, "primaryHost") as { host?: string } | undefined;
    const standbyAddress = plainOutput(views.standby, "standbyAddress");
    return { primary: primaryHost?.host, standby: typeof standbyAddress === "string" ? standbyAddress : undefined };
}
