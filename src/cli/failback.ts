import { Command, DRY_RUN_HELP, FLIP_EXIT_CODES } from "./command";
import { runFlip } from "./flip";
import { acquireLock } from "./operator-lock";

export const failback: Command = {
    name: "failback",
    summary: "back to the primary: the standby's writes are merged, nothing acknowledged is lost",
    options: { "dry-run": { type: "boolean", default: false } },
    help: `usage: wirebot-ops failback [--dry-run]

Makes the primary the active side again: sets wirebot:activeSide=primary on both
stacks, then
  pulumi up -s primary   the standby stops and exports its databases; the primary merges
                         them by key, restarts replication from its own data and serves
  pulumi up -s standby   confirms that the standby let go and its export is merged
Refused by the hosts (nothing changed) after an automatic failover the config never
acknowledged (run wirebot-ops acknowledge first), while the standby is activating,
when the merge finds a conflict, or when the standby's agent cannot be asked or gives
no answer to trust: bring it back; if it is lost for good, with its writes, run
wirebot-failover forget-standby on the primary (and override-serve there unless the
witness shows nobody serving), then this again. Run again after a failure to finish.
If the merge is done but replication does not start again, the primary serves and
the command fails (exit 1) saying so: fix the cause, run this again; it replicates
afresh and runs what is left.

${DRY_RUN_HELP}

${FLIP_EXIT_CODES}`,
    run: async (ctx) => runFlip("failback", { project: await ctx.project(), io: ctx.io, dryRun: ctx.flags["dry-run"] === true, lock: acquireLock }),
};
