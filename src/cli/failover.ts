import { Command, DRY_RUN_HELP, FLIP_EXIT_CODES } from "./command";
import { runFlip } from "./flip";
import { acquireLock } from "./operator-lock";

export const failover: Command = {
    name: "failover",
    summary: "emergency failover, the primary down: the standby stack alone",
    options: { "dry-run": { type: "boolean", default: false } },
    help: `usage: wirebot-ops failover [--dry-run]

Emergency failover while the primary is powered off or unreachable: sets
wirebot:activeSide=standby on both stacks and runs only
  pulumi up -s standby   the standby restores from its replicas as they are and serves
The primary stack is not run (its host is down). The standby refuses while the
primary still sends heartbeats (run switchover instead) or while the witness shows
the primary serving (a partition), or while its last export is not merged into the
primary (if the primary is lost for good: wirebot-failover keep-export on the standby
sets it aside for a merge by hand, then this again). Loss is bounded by Litestream's
sync interval.
After an automatic failover, this acknowledges it from the standby alone.
Once the primary is back (it stays off): wirebot-ops acknowledge, then failback.

${DRY_RUN_HELP}

${FLIP_EXIT_CODES}`,
    run: async (ctx) => runFlip("failover", { project: await ctx.project(), io: ctx.io, dryRun: ctx.flags["dry-run"] === true, lock: acquireLock }),
};
