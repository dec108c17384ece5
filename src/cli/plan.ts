import type { Side, StackRole } from "./stacks";

// Which config to set and which stacks to bring up, in which order, for each
// flip, from what the stacks' config says and what their last update applied.
// The order is always the primary stack, then the standby stack; an emergency
// failover runs the standby stack alone. A run that stopped half-way is
// finished by running the same command again: the config it set is already
// there, and a stack whose last update applied the side is not run again
// (unless the primary stack runs, which the standby stack's outputs read).

export type FlipCommand = "switchover" | "failover" | "failback" | "acknowledge";

export interface StackState {
    /** `wirebot:activeSide` in the stack's config. */
    config: Side;
    /** The side the stack's latest update applied; undefined when it failed or never ran. */
    applied: Side | undefined;
}

export type StackStates = Record<StackRole, StackState>;

export interface ConfigChange {
    stack: StackRole;
    from: Side;
    to: Side;
}

export interface UpStep {
    stack: StackRole;
    why: string;
}

export interface Plan {
    command: FlipCommand;
    /** The active side the command makes. */
    target: Side;
    configChanges: ConfigChange[];
    ups: UpStep[];
    /** A run before this one got part of the way: what it had done. */
    resumed?: string;
    /** Said after the run: what is left for later. */
    after?: string;
}

export const TARGET: Record<FlipCommand, Side> = { switchover: "standby", failover: "standby", acknowledge: "standby", failback: "primary" };

/** The stacks a command brings up, in order. */
const STACKS_RUN: Record<FlipCommand, StackRole[]> = {
    switchover: ["primary", "standby"],
    acknowledge: ["primary", "standby"],
    failback: ["primary", "standby"],
    failover: ["standby"],
};

const WHY: Record<FlipCommand, Record<StackRole, string>> = {
    switchover: { primary: "the primary stops its writes and hands over; the standby takes over", standby: "confirms that the standby serves" },
    acknowledge: { primary: "records that the primary stands down", standby: "records the acknowledgement on the standby" },
    failback: { primary: "the standby stops and hands back its writes; the primary merges them and serves", standby: "confirms that the standby let go" },
    failover: { primary: "", standby: "the standby takes over from its replicas (the primary is down)" },
};

export function planFlip(command: FlipCommand, state: StackStates): Plan {
    const target = TARGET[command];
    // Both stacks get the side, as the runbook sets it: an emergency failover too, so that the primary
    // stack records the stand-down once the primary is back.
    const configChanges: ConfigChange[] = (["primary", "standby"] as const).filter((s) => state[s].config !== target).map((s) => ({ stack: s, from: state[s].config, to: target }));
    const runs = STACKS_RUN[command];
    const ups: UpStep[] = [];
    const primaryRuns = runs.includes("primary") && state.primary.applied !== target;
    if (primaryRuns) ups.push({ stack: "primary", why: WHY[command].primary });
    if (primaryRuns || state.standby.applied !== target) ups.push({ stack: "standby", why: WHY[command].standby });
    const plan: Plan = { command, target, configChanges, ups };
    const done = runs.filter((s) => state[s].config === target && state[s].applied === target);
    if (ups.length > 0 && done.length > 0 && configChanges.length === 0) {
        plan.resumed = `the ${done.join(" and ")} stack's last update already applied ${target}; running what is left`;
    }
    if (command === "failover" && state.primary.applied !== target) {
        plan.after = "the primary stack now says standby and was not run. Once the primary is back (it stays off meanwhile), run wirebot-ops acknowledge: it records the stand-down on the primary stack; then wirebot-ops failback";
    }
    return plan;
}

/** Said when nothing is left to do. */
export function nothingToDo(plan: Plan): string {
    return `nothing to do: the stacks say ${plan.target} and their last updates applied it. If wirebot-ops status shows another side serving (an automatic failover), acknowledge it first: wirebot-ops acknowledge (or wirebot-ops failover while the primary is down)`;
}
