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
acknowledged (run wirebot-ops acknowledge first), while the standby is activating, or
when the merge finds a conflict. Run again after a failure to finish.

${DRY_RUN_HELP}

${FLIP_EXIT_CODES}`,
    run: async (ctx) => runFlip("failback", { project: await ctx.project(), io: ctx.io, dryRun: ctx.flags["dry-run"] === true, lock: acquireLock }),
};
