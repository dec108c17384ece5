import { Command, DRY_RUN_HELP, FLIP_EXIT_CODES } from "./command";
import { runFlip } from "./flip";
import { acquireLock } from "./operator-lock";

export const switchover: Command = {
    name: "switchover",
    summary: "planned switchover to the standby, both hosts up: nothing acknowledged is lost",
    options: { "dry-run": { type: "boolean", default: false } },
    help: `usage: wirebot-ops switchover [--dry-run]

Makes the standby the active side with both hosts running: sets
wirebot:activeSide=standby on the primary and the standby stack, then
  pulumi up -s primary   the primary stops its connector and services, ships its last
                         writes, and the standby takes over once its replicas match
  pulumi up -s standby   confirms that the standby serves
Refused by the hosts (nothing changed) when the standby's agent cannot be asked or
Litestream cannot confirm the last writes. Run again after a failure to finish: a
stack whose last update applied standby is not run again.

${DRY_RUN_HELP}

${FLIP_EXIT_CODES}`,
    run: async (ctx) => runFlip("switchover", { project: await ctx.project(), io: ctx.io, dryRun: ctx.flags["dry-run"] === true, lock: acquireLock }),
};
