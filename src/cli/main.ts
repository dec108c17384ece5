import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { acknowledge } from "./acknowledge";
import { Command, UsageError } from "./command";
import { failback } from "./failback";
import { failover } from "./failover";
import { EXIT, Io, processIo } from "./io";
import { describeHolder, OperatorLocked } from "./operator-lock";
import { OpsProject, StackUnavailable } from "./stacks";
import { status, STATUS_EXIT } from "./status";
import { switchover } from "./switchover";

// wirebot-ops: the operator's commands on this machine, over the project's
// Pulumi stacks (Automation API). Not to be confused with wirebot-failover,
// the agent's command on the hosts.

export const COMMANDS: Command[] = [status, switchover, failover, failback, acknowledge];

const GLOBAL_OPTIONS = {
    help: { type: "boolean", short: "h", default: false },
    "project-dir": { type: "string" },
    "primary-stack": { type: "string", default: "primary" },
    "standby-stack": { type: "string", default: "standby" },
} as const;

const GLOBAL_HELP = `global flags:
  --project-dir <dir>      the Pulumi project (Pulumi.yaml); default: the current directory
                           or the nearest one above it with a Pulumi.yaml
  --primary-stack <name>   default primary (or org/primary)
  --standby-stack <name>   default standby
  -h, --help               this text, or a command's own`;

export function usage(): string {
    const width = Math.max(...COMMANDS.map((c) => c.name.length));
    return `usage: wirebot-ops <command> [flags]   (npx wirebot-ops ... in the project directory)

Fails over and back by setting wirebot:activeSide on the primary and standby stacks and
running pulumi up in the safe order, through Pulumi's Automation API; the manual
runbook (pulumi config set, pulumi up) keeps working alongside. On the hosts, the
agent's own command is wirebot-failover.

commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join("\n")}

${GLOBAL_HELP}

Pulumi runs as on the command line: the pulumi CLI from PATH, the backend from pulumi
login or PULUMI_BACKEND_URL, secrets with PULUMI_CONFIG_PASSPHRASE when the stacks use a
passphrase. wirebot-ops <command> --help for each command.`;
}

const hasProject = (dir: string) => fs.existsSync(path.join(dir, "Pulumi.yaml")) || fs.existsSync(path.join(dir, "Pulumi.yml"));

/** --project-dir, or the nearest directory from the current one upwards that holds Pulumi.yaml. */
export function projectDir(flag: string | undefined, cwd = process.cwd()): string {
    if (flag !== undefined) {
        const dir = path.resolve(cwd, flag);
        if (!hasProject(dir)) throw new UsageError(`no Pulumi.yaml in ${dir}: --project-dir names the Pulumi project's directory`);
        return dir;
    }
    for (let dir = path.resolve(cwd); ; dir = path.dirname(dir)) {
        if (hasProject(dir)) return dir;
        if (path.dirname(dir) === dir) throw new UsageError(`no Pulumi.yaml in ${cwd} or above: run wirebot-ops in the project directory, or pass --project-dir`);
    }
}

export async function main(argv: string[], io: Io = processIo): Promise<number> {
    const [name, ...rest] = argv;
    if (name === undefined || name === "help" || name === "--help" || name === "-h") {
        io.out(usage());
        return name === undefined ? EXIT.usage : EXIT.ok;
    }
    const command = COMMANDS.find((c) => c.name === name);
    if (!command) {
        io.err(`wirebot-ops: unknown command ${name}\n\n${usage()}`);
        return EXIT.usage;
    }
    let flags: Record<string, string | boolean | undefined>;
    try {
        flags = parseArgs({ args: rest, options: { ...GLOBAL_OPTIONS, ...command.options }, strict: true, allowPositionals: false }).values as typeof flags;
    } catch (err) {
        io.err(`wirebot-ops ${name}: ${(err as Error).message}\n\n${command.help}\n\n${GLOBAL_HELP}`);
        return EXIT.usage;
    }
    if (flags.help) {
        io.out(`${command.help}\n\n${GLOBAL_HELP}`);
        return EXIT.ok;
    }
    try {
        const dir = projectDir(flags["project-dir"] as string | undefined);
        const stackNames = { primary: flags["primary-stack"] as string, standby: flags["standby-stack"] as string };
        let project: OpsProject | undefined;
        // The Automation API (and @pulumi/pulumi with it) loads only for a command that uses the stacks.
        const open = async () => (project ??= (await import("./automation")).automationProject({ dir, stackNames }));
        return await command.run({ flags, io, project: open });
    } catch (err) {
        return reportError(name, err, io);
    }
}

function reportError(name: string, err: unknown, io: Io): number {
    if (err instanceof UsageError) {
        io.err(`wirebot-ops ${name}: ${err.message}`);
        return EXIT.usage;
    }
    if (err instanceof OperatorLocked) {
        io.err(`wirebot-ops ${name}: refused: ${describeHolder(err.holder)} is running in this project. Nothing was changed.`);
        io.err(`Wait for it to finish (its own output shows its steps). If that process is gone on another machine, remove ${err.file}.`);
        return EXIT.locked;
    }
    const code = name === "status" ? STATUS_EXIT.stacks : EXIT.failed;
    if (err instanceof StackUnavailable) io.err(`wirebot-ops ${name}: ${err.message}`);
    else io.err(`wirebot-ops ${name}: ${(err as Error).message ?? String(err)}`);
    return code;
}

if (require.main === module) {
    // Ctrl-C: pulumi gets the signal too and stops its update cleanly. The lock file stays behind and
    // the next command clears it, as its process is gone; running the same command again finishes the flip.
    main(process.argv.slice(2)).then((code) => process.exit(code));
}
