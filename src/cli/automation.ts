import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { CommandError, ConcurrentUpdateError, LocalWorkspace, Stack, StackNotFoundError } from "@pulumi/pulumi/automation";
import { lockHolder } from "./failure";
import { ACTIVE_SIDE_KEY, asSide, DEFAULT_SIDE, EventSink, LastUpdate, OpsProject, OpsStack, OutputValue, StackLocked, StackRole, StackUnavailable, UpFailed } from "./stacks";

// The one file that talks to Pulumi: the Automation API's LocalWorkspace over
// this project directory, with the Pulumi CLI from PATH, the backend and the
// secrets passphrase from the environment, as `pulumi` itself would use them.

const run = promisify(execFile);

export interface AutomationOptions {
    dir: string;
    stackNames: Record<StackRole, string>;
    /** Added to the environment of every pulumi command. */
    envVars?: Record<string, string>;
}

export function automationProject(options: AutomationOptions): OpsProject {
    const opened = new Map<StackRole, Promise<OpsStack>>();
    return {
        dir: options.dir,
        stack(role) {
            if (!opened.has(role)) opened.set(role, openStack(options, role));
            return opened.get(role)!;
        },
    };
}

async function openStack(options: AutomationOptions, role: StackRole): Promise<OpsStack> {
    const name = options.stackNames[role];
    try {
        const stack = await LocalWorkspace.selectStack({ stackName: name, workDir: options.dir }, { envVars: options.envVars });
        return new AutomationStack(role, name, stack, options);
    } catch (err) {
        if (err instanceof StackNotFoundError) {
            throw new StackUnavailable(
                `stack ${name} does not exist in this project's backend (project ${options.dir}). Create and bring it up first (README, "Bring-up order"), check pulumi login / PULUMI_BACKEND_URL, or name it with --${role}-stack <org/stack>`,
            );
        }
        if (/ENOENT/.test((err as Error).message)) throw new StackUnavailable("the pulumi CLI is not on PATH: install it (see Pulumi's install page), or in this repository: PATH=\"$(bash lab/tools.sh path):$PATH\"");
        if (err instanceof CommandError) throw new StackUnavailable(`pulumi could not open stack ${name} in ${options.dir}: ${firstLines(err.message)}`);
        throw new StackUnavailable(`the pulumi CLI could not be run (${(err as Error).message.split("\n")[0]}); install it or put it on PATH`);
    }
}

function firstLines(message: string): string {
    const stderr = /stderr: ([\s\S]*?)(?:\n err\?:|$)/.exec(message)?.[1] ?? message;
    return stderr.trim().split("\n").slice(0, 4).join(" ");
}

class AutomationStack implements OpsStack {
    constructor(
        readonly role: StackRole,
        readonly name: string,
        private readonly stack: Stack,
        private readonly options: AutomationOptions,
    ) {}

    async getConfig(key: string): Promise<string | undefined> {
        try {
            return (await this.stack.getConfig(key)).value;
        } catch (err) {
            if (err instanceof CommandError && /not found/.test(err.message)) return undefined;
            throw this.translate(err, "pulumi config get");
        }
    }

    async setConfig(key: string, value: string): Promise<void> {
        await this.stack.setConfig(key, { value, secret: false }).catch((err) => {
            throw this.translate(err, "pulumi config set");
        });
    }

    async outputs(): Promise<Record<string, OutputValue>> {
        return this.stack.outputs().catch((err) => {
            throw this.translate(err, "pulumi stack output");
        });
    }

    async lastUpdate(): Promise<LastUpdate | undefined> {
        const history = await this.stack.history(10, 1, false).catch((err) => {
            throw this.translate(err, "pulumi stack history");
        });
        const update = history.find((h) => h.kind === "update");
        if (!update) return undefined;
        const configured = update.config?.[ACTIVE_SIDE_KEY]?.value;
        return { result: update.result, activeSide: configured === undefined ? DEFAULT_SIDE : asSide(configured), endTime: update.endTime };
    }

    async up(onEvent: EventSink): Promise<void> {
        try {
            await this.stack.up({ onEvent, color: "never" });
        } catch (err) {
            throw this.translate(err, "pulumi up");
        }
    }

    async preview(onEvent: EventSink, config: Record<string, string>): Promise<void> {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wirebot-ops-preview-"));
        try {
            const configFile = await this.configCopy(dir, config);
            await this.stack.preview({ onEvent, configFile, color: "never" });
        } catch (err) {
            throw this.translate(err, "pulumi preview");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    }

    /** A copy of the stack's config file (secrets stay encrypted, with their salt) with these values set in it. */
    private async configCopy(dir: string, config: Record<string, string>): Promise<string> {
        const copy = path.join(dir, `Pulumi.${stackFileName(this.name)}.yaml`);
        const original = stackConfigFile(this.options.dir, this.name);
        if (original) fs.copyFileSync(original, copy);
        else fs.writeFileSync(copy, "config: {}\n");
        fs.chmodSync(copy, 0o600);
        const pulumi = (this.stack.workspace as LocalWorkspace).pulumiCommand.command;
        for (const [key, value] of Object.entries(config)) {
            await run(pulumi, ["config", "set", "--config-file", copy, "--stack", this.name, "--non-interactive", "--plaintext", key, "--", value], {
                cwd: this.options.dir,
                env: { ...process.env, ...this.options.envVars },
            });
        }
        return copy;
    }

    private translate(err: unknown, what: string): Error {
        if (err instanceof ConcurrentUpdateError) return new StackLocked(this.name, lockHolder(err.message));
        if (err instanceof CommandError) return new UpFailed(this.name, err.message);
        const message = (err as Error).message ?? String(err);
        return new UpFailed(this.name, `${what}: ${message}`);
    }
}

function stackFileName(stackName: string): string {
    return stackName.split("/").pop()!;
}

/** Where Pulumi reads the stack's config: Pulumi.<stack>.yaml in the project, or under its stackConfigDir. */
export function stackConfigFile(projectDir: string, stackName: string): string | undefined {
    let dir = projectDir;
    for (const name of ["Pulumi.yaml", "Pulumi.yml"]) {
        const file = path.join(projectDir, name);
        if (!fs.existsSync(file)) continue;
        const configured = /^stackConfigDir:\s*["']?([^"'\s#]+)/m.exec(fs.readFileSync(file, "utf8"))?.[1];
        if (configured) dir = path.resolve(projectDir, configured);
        break;
    }
    for (const ext of [".yaml", ".yml", ".json"]) {
        const file = path.join(dir, `Pulumi.${stackFileName(stackName)}${ext}`);
        if (fs.existsSync(file)) return file;
    }
    return undefined;
}
