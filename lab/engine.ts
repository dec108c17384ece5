import { execFileSync, spawn } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { DEFAULT_LINK, primarySchema } from "../src/config/schema";
import { linkAddresses } from "../src/config/link-addresses";
import { CONNECTOR_UNIT, resolveServices } from "../src/render/service-units";
import type { LabEnv, LabHost, Result } from "./lab";

// The Pulumi engine against the lab hosts: the repository's program, a file
// backend and a passphrase secrets provider in the lab's state directory, and
// stack config that is the product's config with lab values. The stack files
// live in a project directory of the lab's own (its program files link to the
// repository), so the repository's example stack files are never touched and
// the runbook's commands (`pulumi config set ...`, `pulumi up -s primary`) run
// there as written.

const REPO = path.resolve(__dirname, "..");
const PROGRAM_FILES = ["index.ts", "src", "agent", "host", "node_modules", "package.json", "tsconfig.json"];
/** Lab-only: encrypts the lab stacks' secrets in the lab's state directory. */
const LAB_PASSPHRASE = "wirebot-lab-passphrase";
export const STACKS = ["primary", "standby", "tenant-lab"] as const;
export type LabStack = (typeof STACKS)[number];

export function projectDir(env: LabEnv): string {
    return path.join(env.stateDir, "project");
}

function toolsPath(): string {
    return execFileSync("bash", [path.join(__dirname, "tools.sh"), "path"], { encoding: "utf8" }).trim();
}

export function toolBinary(name: string): string {
    for (const dir of toolsPath().split(":")) {
        if (fs.existsSync(path.join(dir, name))) return path.join(dir, name);
    }
    throw new Error(`${name} is not built: run \`bash lab/tools.sh install\``);
}

/** The environment every pulumi command of the lab runs in; `npm run lab -- env` prints it. */
export function engineEnv(env: LabEnv): Record<string, string> {
    return {
        PULUMI_BACKEND_URL: `file://${path.join(env.stateDir, "pulumi-backend")}`,
        PULUMI_CONFIG_PASSPHRASE: LAB_PASSPHRASE,
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
        // The program is type-checked by `npm run typecheck`; each up only transpiles it.
        PULUMI_NODEJS_TRANSPILE_ONLY: "true",
        PATH: [toolsPath(), path.join(REPO, "node_modules/.bin"), process.env.PATH ?? ""].join(":"),
    };
}

/** A fresh project directory for the lab's stacks: Pulumi.yaml, and links to the program. */
export function resetProject(env: LabEnv): void {
    const dir = projectDir(env);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(path.join(env.stateDir, "pulumi-backend"), { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    fs.mkdirSync(path.join(env.stateDir, "pulumi-backend"), { recursive: true });
    fs.copyFileSync(path.join(REPO, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
    for (const file of PROGRAM_FILES) fs.symlinkSync(path.join(REPO, file), path.join(dir, file));
}

export interface EngineRun extends Result {
    ms: number;
}

/** Runs the Pulumi CLI in the lab project without blocking, so load and sampler keep going. */
export function pulumi(env: LabEnv, args: string[], input?: string, timeoutMs = 15 * 60_000): Promise<EngineRun> {
    const started = Date.now();
    return new Promise((resolve) => {
        const child = spawn("pulumi", [...args, "--non-interactive"], {
            cwd: projectDir(env),
            env: { ...process.env, ...engineEnv(env) },
            timeout: timeoutMs,
        });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d) => (stdout += d));
        child.stderr.on("data", (d) => (stderr += d));
        child.on("close", (code) => resolve({ status: code ?? -1, stdout, stderr, ms: Date.now() - started }));
        child.stdin.end(input ?? "");
    });
}

export async function pulumiOk(env: LabEnv, args: string[], input?: string): Promise<EngineRun> {
    const r = await pulumi(env, args, input);
    if (r.status !== 0) throw new Error(`pulumi ${args.join(" ")} failed (${r.status}):\n${r.stdout}${r.stderr}`);
    return r;
}

/** `pulumi up -s <stack>`; a failure comes back as a status, so a refusal can be read. */
export function up(env: LabEnv, stack: LabStack): Promise<EngineRun> {
    return pulumi(env, ["up", "-s", stack, "--yes", "--skip-preview", "--suppress-progress"]);
}

export function setConfig(env: LabEnv, stack: LabStack, key: string, value: string, secret = false): Promise<EngineRun> {
    return secret
        ? pulumiOk(env, ["config", "set", "--secret", "-s", stack, key], value)
        : pulumiOk(env, ["config", "set", "--path", "-s", stack, key, value]);
}

/** The lab's own address on its bridge, where the edge double listens. */
export const BRIDGE = "10.77.0.1";
/** The alert webhook's port on the double; fixed, since the stacks' config names it. */
export const WITNESS_PORT = 8399;
/** Where the hosts find the tunnel's public hostnames (hosts.sh maps them to the bridge), over TLS from the lab's CA. */
export const EDGE_TLS_PORT = 443;

/**
 * The WireGuard link the agents talk over, at its defaults (the lab's stacks
 * set none of its keys): the interface, its UDP port and each host's address
 * in it. The standby's agent answers there and on loopback only.
 */
export const LINK = { interface: DEFAULT_LINK.interface, port: DEFAULT_LINK.port, ...linkAddresses(DEFAULT_LINK.subnet) };

/** What the lab's stacks are set to beyond their fixed lab values. */
export interface LabSettings {
    activeSide: LabHost;
    heartbeatSeconds: number;
    autoActivate: boolean;
    alertWebhookUrl: string;
}

/** Alerts to the lab's double; the witness is the product's default (the tunnel's route), which the double answers as the edge. */
export function labSettings(heartbeatSeconds: number, autoActivate: boolean): LabSettings {
    return { activeSide: "primary", heartbeatSeconds, autoActivate, alertWebhookUrl: `http://${BRIDGE}:${WITNESS_PORT}/alert` };
}

// The gateway is the real OpenClaw with the product's default ExecStart
// (/usr/bin/openclaw gateway --port 18789); hosts.sh installs it and its config.
const LAB_SERVICES = {
    scoreboard: { execStart: "/usr/bin/python3 /opt/wirebot-lab/scoreboard.py" },
};
const LAB_PATHS_CONFIG = {
    databases: ["/data/wirebot/scoreboard/events.db"],
    fileSync: ["/data/wirebot/users/lab", "/home/wirebot/clawd"],
};
export const LAB_TENANT = "lab";
/** What the primary stack makes of the lab's config: its paths (defaults filled in) and units. */
export const PATHS = primarySchema.shape.paths.parse(LAB_PATHS_CONFIG);
export const SERVICES = resolveServices(LAB_SERVICES);
export const SERVICE_UNITS = SERVICES.map((s) => s.unit);
export const CONNECTOR = CONNECTOR_UNIT;

/** Well-formed credentials of a tunnel that does not exist: the connector runs and retries the edge. */
function labTunnelCredentials(): string {
    return JSON.stringify({
        AccountTag: "0123456789abcdef0123456789abcdef",
        TunnelSecret: crypto.randomBytes(32).toString("base64"),
        TunnelID: crypto.randomUUID(),
    });
}

function primaryConfig(env: LabEnv, settings: LabSettings): Record<string, unknown> {
    return {
        "wirebot:activeSide": settings.activeSide,
        "wirebot:primary": { host: env.address.primary, port: 22, user: "root", arch: "amd64", hostKey: env.hostKey.primary },
        "wirebot:tunnel": { mode: "adopt", manageDns: false },
        "wirebot:tenantHostnames": [`${LAB_TENANT}.clients.wirebot.chat`],
        "wirebot:services": LAB_SERVICES,
        "wirebot:paths": LAB_PATHS_CONFIG,
        "wirebot:binaries": { cloudflared: { amd64: { path: toolBinary("cloudflared") } } },
    };
}

function standbyConfig(env: LabEnv, settings: LabSettings): Record<string, unknown> {
    return {
        "wirebot:activeSide": settings.activeSide,
        "wirebot:standby": {
            provider: "existing",
            existing: { host: env.address.standby, port: 22, user: "root", arch: "amd64", hostKey: env.hostKey.standby },
        },
        "wirebot:agent": {
            heartbeatIntervalSeconds: settings.heartbeatSeconds,
            autoActivate: settings.autoActivate,
        },
        "wirebot:binaries": {
            litestream: { amd64: { path: toolBinary("litestream") } },
            cloudflared: { amd64: { path: toolBinary("cloudflared") } },
        },
    };
}

function tenantConfig(): Record<string, unknown> {
    return { "wirebot:hostnames": [`${LAB_TENANT}.clients.wirebot.chat`], "wirebot:manageDns": false };
}

/**
 * Creates the three lab stacks and writes their config: the plain values as a
 * stack file (JSON is YAML), the secrets through `pulumi config set --secret`
 * from standard input, as an operator sets them.
 */
export async function createStacks(env: LabEnv, settings: LabSettings): Promise<void> {
    resetProject(env);
    const plain: Record<LabStack, Record<string, unknown>> = {
        primary: primaryConfig(env, settings),
        standby: standbyConfig(env, settings),
        "tenant-lab": tenantConfig(),
    };
    for (const stack of STACKS) {
        await pulumiOk(env, ["stack", "init", stack, "--secrets-provider", "passphrase"]);
        const file = path.join(projectDir(env), `Pulumi.${stack}.yaml`);
        const salt = fs.readFileSync(file, "utf8").match(/^encryptionsalt: .*$/m)?.[0] ?? "";
        fs.writeFileSync(file, `${salt}\nconfig: ${JSON.stringify(plain[stack])}\n`);
    }
    const key = fs.readFileSync(env.sshKey, "utf8");
    await setConfig(env, "primary", "wirebot:primarySshKey", key, true);
    await setConfig(env, "primary", "wirebot:tunnelCredentials", labTunnelCredentials(), true);
    await setConfig(env, "standby", "wirebot:standbySshKey", key, true);
    await setConfig(env, "standby", "wirebot:alertWebhookUrl", settings.alertWebhookUrl, true);
}

/** Sets the active side on one stack, as the runbook's flip does. */
export function setActiveSide(env: LabEnv, stack: "primary" | "standby", side: LabHost): Promise<EngineRun> {
    return setConfig(env, stack, "wirebot:activeSide", side);
}

export async function outputs(env: LabEnv, stack: LabStack): Promise<Record<string, unknown>> {
    return JSON.parse((await pulumiOk(env, ["stack", "output", "-s", stack, "--json"])).stdout) as Record<string, unknown>;
}
