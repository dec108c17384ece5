import { askAgent, AgentAnswer, sshTargets } from "./agents";
import { Command, CommandContext, UsageError } from "./command";
import { currentHolder, describeHolder } from "./operator-lock";
import { assess, DEFAULT_ASSESS, STATUS_EXIT, StatusSnapshot, StackSummary } from "./status-report";
import { renderStatus, statusJson } from "./status-render";
import type { OpsProject, StackRole } from "./stacks";
import { plainOutput, readStack, StackView } from "./state";

export const status: Command = {
    name: "status",
    summary: "what the stacks say is active and what the hosts really do: serving, heartbeats, replication, drill",
    options: { json: { type: "boolean", default: false }, "max-lag": { type: "string", default: String(DEFAULT_ASSESS.maxLagSeconds) }, "ssh-timeout": { type: "string", default: "10" } },
    help: `usage: wirebot-ops status [--json] [--max-lag <seconds>] [--ssh-timeout <seconds>]

For the primary and the standby stack: wirebot:activeSide in the config, what the
stacks' outputs and last update recorded, their nextCommand. Then each host's agent,
asked over SSH as the stacks reach the hosts (their outputs' address, user, pinned
host key and SSH key; the key is written to a 0600 temporary file for the call and
deleted): ssh <host> /usr/local/bin/wirebot-failover status --json. Shown: which host
serves, heartbeat age, replication lag per database, last file sync, Letta dump, last
fire drill and its result, the last takeover (an automatic one not acknowledged yet),
the export handed back and where it stands (exporting, exported, merged, kept), exports
kept aside for a merge by hand, the last merge, a reseed the primary still owes after a
failback, the operator's forget-standby or override-serve in force on the primary, the
clocks' offset, and what to do.

  --json               one JSON document instead of the tables
  --max-lag <seconds>  replication lag above which a database needs attention (default ${DEFAULT_ASSESS.maxLagSeconds})
  --ssh-timeout <s>    SSH connect timeout per host (default 10)

exit codes:
  0  healthy: the configured side serves, alone, replication and heartbeats are fine
  1  attention: serving as configured, but something needs a look (lag, file sync, heartbeats,
     a failed drill, a stack whose last update did not apply its config, an export not
     complete, not merged or kept aside, a reseed owed, forget-standby or override-serve
     in force, clocks apart)
  2  bad usage
  3  serving problem: nobody serves, both serve, or not the side the config names (such as
     an automatic failover not acknowledged yet)
  4  a host's agent could not be asked (unreachable, host key mismatch, no agent): unknown
  5  the stacks could not be read (no such stack, no backend, pulumi missing)`,
    run: runStatus,
};

function seconds(value: unknown, flag: string): number {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--${flag} takes a number of seconds, not "${value}"`);
    return n;
}

async function runStatus(ctx: CommandContext): Promise<number> {
    const maxLagSeconds = seconds(ctx.flags["max-lag"], "max-lag");
    const sshTimeout = seconds(ctx.flags["ssh-timeout"], "ssh-timeout");
    const project = await ctx.project();
    const snapshot = await collect(project, sshTimeout, ctx.io.now());
    const assessment = assess(snapshot, { ...DEFAULT_ASSESS, maxLagSeconds, nowMs: ctx.io.now() });
    if (ctx.flags.json) ctx.io.out(JSON.stringify(statusJson(snapshot, assessment), null, 2));
    else for (const line of renderStatus(snapshot, assessment, ctx.io.now())) ctx.io.out(line);
    return assessment.exitCode;
}

export { STATUS_EXIT };

function summary(name: string, view: StackView): StackSummary {
    const next = plainOutput(view, "nextCommand");
    return { name, config: view.config, recorded: view.recorded, applied: view.applied, lastUpdate: view.lastUpdate, nextCommand: typeof next === "string" ? next : undefined };
}

export async function collect(project: OpsProject, sshTimeout: number, nowMs: number): Promise<StatusSnapshot> {
    const stacks = { primary: await project.stack("primary"), standby: await project.stack("standby") };
    const [primary, standby] = await Promise.all([readStack(stacks.primary), readStack(stacks.standby)]);
    const targets = sshTargets(primary.outputs, standby.outputs);
    const ask = async (role: StackRole): Promise<{ address: string | undefined; answer: AgentAnswer }> => {
        const target = targets[role];
        if ("missing" in target) return { address: undefined, answer: { ok: false, error: `no SSH details for the ${role} host`, fix: target.missing } };
        return { address: target.address, answer: await askAgent(target, sshTimeout) };
    };
    const [primaryHost, standbyHost] = await Promise.all([ask("primary"), ask("standby")]);
    const holder = currentHolder(project.dir);
    return {
        at: new Date(nowMs).toISOString(),
        project: project.dir,
        stacks: { primary: summary(stacks.primary.name, primary), standby: summary(stacks.standby.name, standby) },
        hosts: { primary: primaryHost, standby: standbyHost },
        ...(holder ? { inProgress: describeHolder(holder, nowMs) } : {}),
    };
}
