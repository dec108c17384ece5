import { Command, DRY_RUN_HELP, FLIP_EXIT_CODES } from "./command";
import { runFlip } from "./flip";
import { acquireLock } from "./operator-lock";

export const acknowledge: Command = {
    name: "acknowledge",
    summary: "make the stacks record a takeover they did not drive (automatic, or an emergency failover)",
    options: { "dry-run": { type: "boolean", default: false } },
    help: `usage: wirebot-ops acknowledge [--dry-run]

After the standby took over on its own (automatic failover), or after an emergency
failover once the primary is back: sets wirebot:activeSide=standby on both stacks, then
  pulumi up -s primary   records that the primary stands down (changes nothing on it)
  pulumi up -s standby   records the acknowledgement on the standby
Until then a failback is refused. The primary must be reachable; while it is still
down, wirebot-ops failover acknowledges from the standby alone. Then: wirebot-ops failback.

${DRY_RUN_HELP}

${FLIP_EXIT_CODES}`,
    run: async (ctx) => runFlip("acknowledge", { project: await ctx.project(), io: ctx.io, dryRun: ctx.flags["dry-run"] === true, lock: acquireLock }),
};
