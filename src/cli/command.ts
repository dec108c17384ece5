import type { Io } from "./io";
import type { OpsProject } from "./stacks";

/** What every command gets: parsed flags, the project, where to write. */
export interface CommandContext {
    flags: Record<string, string | boolean | undefined>;
    io: Io;
    /** Opens the project on first use: --help and usage errors load no Pulumi. */
    project: () => Promise<OpsProject>;
}

export interface Command {
    name: string;
    /** One line for the list of commands. */
    summary: string;
    /** Its own flags, for the argument parser. */
    options: Record<string, { type: "boolean" | "string"; default?: string | boolean }>;
    help: string;
    run(ctx: CommandContext): Promise<number>;
}

/** A flag or argument the command cannot take: exit 2 with the command's usage. */
export class UsageError extends Error {}

export const FLIP_EXIT_CODES = `exit codes:
  0  done: the active side is as asked (or nothing was left to do)
  1  a step failed (a host unreachable, a service that would not start), or a host serves
     but its flip left a debt (replication did not start again after a failback); the
     message names the stack, the host and what to do; run the command again to finish
  2  bad usage
  3  the hosts refused the flip as unsafe; their reason is shown; nothing changed
  4  another update holds a stack (a pulumi up, another wirebot-ops command); nothing changed`;

export const DRY_RUN_HELP = `  --dry-run   preview each stack the command would bring up, in order, with the new
              active side; changes nothing: each preview reads a temporary copy of
              the stack's config, the stack's own config file is never written`;
