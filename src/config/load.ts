import * as fs from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import {
    Architecture,
    BinariesPerArchitecture,
    BinarySource,
    DrillConfig,
    PathsConfig,
    primarySchema,
    standbySchema,
    tenantSchema,
    tunnelCredentials,
    TunnelCredentials,
} from "./schema";
import { architectureOfServerType, elfArchitecture } from "./architecture";
import { resolveServices, ServiceSpec } from "../render/service-units";

export const NAMESPACE = "wirebot";

export type Role = "primary" | "standby" | "tenant";
export type PrimaryConfig = z.infer<typeof primarySchema>;
export type StandbyConfig = z.infer<typeof standbySchema>;
export type TenantConfig = z.infer<typeof tenantSchema>;

export interface PrimarySettings {
    role: "primary";
    config: PrimaryConfig;
    /** The enabled services with the operator's overrides: what the units run and the tunnel routes to. */
    services: ServiceSpec[];
    primarySshKey: pulumi.Output<string>;
    /** Present when the tunnel is adopted. */
    tunnelCredentials?: pulumi.Output<TunnelCredentials>;
}

export interface StandbySettings {
    role: "standby";
    config: StandbyConfig;
    standbySshKey: pulumi.Output<string>;
    /** The architecture the standby runs, from its server type or the existing host. */
    standbyArch: Architecture;
    heartbeatToken?: pulumi.Output<string>;
    alertWebhookUrl?: pulumi.Output<string>;
}

export interface TenantSettings {
    role: "tenant";
    config: TenantConfig;
    tenantSecrets: pulumi.Output<Record<string, string>>;
}

export type Settings = PrimarySettings | StandbySettings | TenantSettings;

/** One line per problem: the key, the bad value and what to do. */
export class ConfigError extends Error {
    constructor(readonly problems: string[]) {
        super(`invalid configuration:\n  ${problems.join("\n  ")}`);
        this.name = "ConfigError";
    }
}

/** Raw config as the engine hands it to the program, so tests can supply their own. */
export interface RawConfig {
    get(key: string): string | undefined;
    isSecret(key: string): boolean;
}

export function engineConfig(): RawConfig {
    const runtimeConfig = require("@pulumi/pulumi/runtime/config") as { isConfigSecret?: (k: string) => boolean };
    return {
        get: (key) => pulumi.runtime.getConfig(key),
        isSecret: (key) => runtimeConfig.isConfigSecret?.(key) ?? true,
    };
}

export function roleOfStack(stack: string, raw: RawConfig): Role {
    const explicit = raw.get(`${NAMESPACE}:role`);
    const role = explicit ?? (stack.startsWith("tenant-") ? "tenant" : stack);
    if (role === "primary" || role === "standby" || role === "tenant") return role;
    throw new ConfigError([
        `${NAMESPACE}:role: '${role}' is not a stack role; name the stack primary, standby or tenant-<id>, or set ${NAMESPACE}:role to one of primary, standby, tenant`,
    ]);
}

/** Reads and validates every key of the stack once; throws ConfigError before any resource exists. */
export function loadSettings(stack: string, raw: RawConfig = engineConfig()): Settings {
    const role = roleOfStack(stack, raw);
    const problems: string[] = [];
    const settings = loadForRole(role, stack, raw, problems);
    if (problems.length > 0 || settings === undefined) throw new ConfigError(problems);
    return settings;
}

function loadForRole(role: Role, stack: string, raw: RawConfig, problems: string[]): Settings | undefined {
    switch (role) {
        case "primary":
            return loadPrimary(raw, problems);
        case "standby":
            return loadStandby(raw, problems);
        case "tenant":
            return loadTenant(stack, raw, problems);
    }
}

function loadPrimary(raw: RawConfig, problems: string[]): PrimarySettings | undefined {
    const config = parseKeys(primarySchema, raw, problems);
    const primarySshKey = requireSecret(raw, "primarySshKey", "the private SSH key that logs in to the primary host", problems);
    if (!config) return undefined;
    checkDuplicateHostnames([...config.routes.map((r) => r.hostname), ...config.tenantHostnames], "routes/tenantHostnames", problems);
    checkPaths(config.paths, problems);
    const services = resolveServices(config.services);
    checkRoutedServices(config, services, problems);
    checkListeningPorts(services, problems);
    checkBinary(config.binaries.cloudflared, "cloudflared", config.primary.arch, "the primary", problems);
    let credentials: pulumi.Output<TunnelCredentials> | undefined;
    if (config.tunnel.mode === "adopt") {
        const parsed = parseTunnelCredentials(raw, problems);
        if (parsed) credentials = pulumi.secret(parsed);
    }
    if (config.tunnel.mode === "create" || config.tunnel.manageDns) {
        requireProviderToken(raw, "cloudflare:apiToken", "CLOUDFLARE_API_TOKEN", "the Cloudflare API token", problems);
        if (config.tunnel.manageDns && !config.tunnel.zoneId) {
            problems.push(`${NAMESPACE}:tunnel.zoneId: missing while manageDns is true; set it with: pulumi config set --path ${NAMESPACE}:tunnel.zoneId <zone id>, or set ${NAMESPACE}:tunnel.manageDns false`);
        }
    }
    if (problems.length > 0 || !primarySshKey) return undefined;
    return { role: "primary", config, services, primarySshKey, tunnelCredentials: credentials };
}

function loadStandby(raw: RawConfig, problems: string[]): StandbySettings | undefined {
    const config = parseKeys(standbySchema, raw, problems);
    const standbySshKey = requireSecret(raw, "standbySshKey", "the private SSH key that logs in to the standby host", problems);
    const heartbeatToken = optionalSecret(raw, "heartbeatToken", problems, (v) =>
        v.length >= 32 ? undefined : "must be at least 32 characters; omit it to have one generated",
    );
    const alertWebhookUrl = optionalSecret(raw, "alertWebhookUrl", problems, (v) =>
        /^https?:\/\/\S+$/.test(v) ? undefined : "must be an http(s) webhook URL (Discord-compatible)",
    );
    if (!config) return undefined;
    const standbyArch = standbyArchitecture(config, problems);
    if (standbyArch) {
        checkBinary(config.binaries.cloudflared, "cloudflared", standbyArch, "the standby", problems);
        checkBinary(config.binaries.litestream, "litestream", standbyArch, "the standby", problems);
    }
    if (config.standby.provider === "hetzner") {
        requireProviderToken(raw, "hcloud:token", "HCLOUD_TOKEN", "the Hetzner Cloud API token", problems);
    }
    if (problems.length > 0 || !standbySshKey || !standbyArch) return undefined;
    return { role: "standby", config, standbySshKey, standbyArch, heartbeatToken, alertWebhookUrl };
}

function loadTenant(stack: string, raw: RawConfig, problems: string[]): TenantSettings | undefined {
    const fromStack = stack.startsWith("tenant-") ? stack.slice("tenant-".length) : undefined;
    const config = parseKeys(tenantSchema, raw, problems, { tenantId: fromStack });
    const secrets = optionalSecret(raw, "tenantSecrets", problems, (v) => {
        const parsed = z.record(z.string().regex(/^[A-Z_][A-Z0-9_]*$/), z.string()).safeParse(safeJson(v));
        return parsed.success ? undefined : "must be a JSON object of UPPER_CASE names to string values";
    });
    if (!config) return undefined;
    if (fromStack !== undefined && config.tenantId !== fromStack) {
        problems.push(`${NAMESPACE}:tenantId: '${config.tenantId}' differs from the stack name ${stack}; remove the key or name the stack tenant-${config.tenantId}`);
    }
    checkDuplicateHostnames(config.hostnames, "hostnames", problems);
    if (config.manageDns) {
        requireProviderToken(raw, "cloudflare:apiToken", "CLOUDFLARE_API_TOKEN", "the Cloudflare API token", problems);
        if (!config.zoneId) {
            problems.push(`${NAMESPACE}:zoneId: missing while manageDns is true; set the tenant zone with: pulumi config set ${NAMESPACE}:zoneId <zone id>, or set ${NAMESPACE}:manageDns false`);
        }
    }
    if (problems.length > 0) return undefined;
    const tenantSecrets = secrets ? secrets.apply((v) => JSON.parse(v) as Record<string, string>) : pulumi.secret<Record<string, string>>({});
    return { role: "tenant", config, tenantSecrets };
}

function parseKeys<S extends z.ZodObject>(
    schema: S,
    raw: RawConfig,
    problems: string[],
    defaults: Record<string, unknown> = {},
): z.infer<S> | undefined {
    const input: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(defaults)) if (value !== undefined) input[key] = value;
    for (const key of Object.keys(schema.shape)) {
        const text = raw.get(`${NAMESPACE}:${key}`);
        if (text !== undefined) input[key] = parseValue(text);
    }
    const result = schema.safeParse(input, { reportInput: true });
    if (result.success) return result.data;
    for (const issue of result.error.issues) problems.push(describeIssue(issue));
    return undefined;
}

/** Pulumi hands structured values over as JSON text and scalars as plain text. */
function parseValue(text: string): unknown {
    const parsed = safeJson(text);
    return parsed === undefined ? text : parsed;
}

function safeJson(text: string): unknown {
    try {
        return JSON.parse(text);
    } catch {
        return undefined;
    }
}

function describeIssue(issue: z.core.$ZodIssue): string {
    const key = [NAMESPACE + ":" + String(issue.path[0] ?? "")]
        .concat(issue.path.slice(1).map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)))
        .join("")
        .replace(/\.\[/g, "[");
    const pathFlag = issue.path.length > 1 ? "--path " : "";
    if (issue.code === "invalid_type" && issue.input === undefined) {
        return `${key}: missing; set it with: pulumi config set ${pathFlag}${key} <value> (${issue.message})`;
    }
    if (issue.code === "unrecognized_keys") {
        return `${key}: unknown key(s) ${issue.keys.join(", ")}; remove them or check the spelling against the README's config reference`;
    }
    const value = issue.input === undefined ? "(missing)" : JSON.stringify(issue.input);
    return `${key}: bad value ${value}: ${issue.message}; fix with: pulumi config set ${pathFlag}${key} <value>`;
}

function requireSecret(raw: RawConfig, name: string, what: string, problems: string[]): pulumi.Output<string> | undefined {
    const key = `${NAMESPACE}:${name}`;
    const value = raw.get(key);
    if (value === undefined || value.trim() === "") {
        problems.push(`${key}: missing; it is ${what}. Set it with: pulumi config set --secret ${key} < keyfile`);
        return undefined;
    }
    return checkedSecret(raw, key, value, problems);
}

function optionalSecret(
    raw: RawConfig,
    name: string,
    problems: string[],
    validate: (value: string) => string | undefined,
): pulumi.Output<string> | undefined {
    const key = `${NAMESPACE}:${name}`;
    const value = raw.get(key);
    if (value === undefined) return undefined;
    const problem = validate(value);
    if (problem) {
        problems.push(`${key}: bad value [secret]: ${problem}; fix with: pulumi config set --secret ${key} <value>`);
        return undefined;
    }
    return checkedSecret(raw, key, value, problems);
}

function checkedSecret(raw: RawConfig, key: string, value: string, problems: string[]): pulumi.Output<string> | undefined {
    if (!raw.isSecret(key)) {
        problems.push(`${key}: stored in plain text; it is a secret. Store it encrypted with: pulumi config set --secret ${key} <value>`);
        return undefined;
    }
    return pulumi.secret(value);
}

function parseTunnelCredentials(raw: RawConfig, problems: string[]): TunnelCredentials | undefined {
    const key = `${NAMESPACE}:tunnelCredentials`;
    const text = raw.get(key);
    const fix = `set the tunnel's credentials JSON with: pulumi config set --secret ${key} < /root/.cloudflared/<tunnel-id>.json`;
    if (text === undefined) {
        problems.push(`${key}: missing while ${NAMESPACE}:tunnel.mode is adopt; ${fix}`);
        return undefined;
    }
    if (!checkedSecret(raw, key, text, problems)) return undefined;
    const parsed = tunnelCredentials.safeParse(safeJson(text));
    if (!parsed.success) {
        // Never echo the value: it holds the tunnel secret.
        const what = parsed.error.issues.map((i) => i.message).join("; ");
        problems.push(`${key}: bad value [secret]: malformed tunnel credentials (${what}); ${fix}`);
        return undefined;
    }
    return parsed.data;
}

function requireProviderToken(raw: RawConfig, key: string, envVar: string, what: string, problems: string[]): void {
    if (raw.get(key) !== undefined || process.env[envVar]) return;
    problems.push(`${key}: missing; ${what} is needed. Set it with: pulumi config set --secret ${key} <token> (or export ${envVar})`);
}

function checkDuplicateHostnames(hostnames: string[], key: string, problems: string[]): void {
    const seen = new Set<string>();
    for (const name of hostnames) {
        if (seen.has(name)) {
            problems.push(`${NAMESPACE}:${key}: bad value "${name}": the hostname is listed twice; keep one entry per hostname`);
        }
        seen.add(name);
    }
}

function checkPaths(paths: PathsConfig, problems: string[]): void {
    const key = `${NAMESPACE}:paths`;
    const seen = new Set<string>();
    for (const db of paths.databases) {
        if (seen.has(db)) problems.push(`${key}.databases: bad value "${db}": listed twice; keep one entry per database`);
        seen.add(db);
        if (isWithin(db, paths.tenantsDir)) {
            problems.push(`${key}.databases: bad value "${db}": it is under tenantsDir ${paths.tenantsDir}, which is replicated by its directory watch; remove it from databases`);
        }
    }
    for (const live of [paths.dataRoot, ...paths.databases, paths.tenantsDir]) {
        if (isWithin(paths.replicaDir, live) || isWithin(live, paths.replicaDir)) {
            problems.push(`${key}.replicaDir: bad value "${paths.replicaDir}": it overlaps the live path ${live}; a replica must never share a path with a live database. Use a separate directory such as /var/lib/wirebot/replica`);
            break;
        }
    }
}

/** The tunnel routes each hostname to its service's port: a disabled service has none. */
function checkRoutedServices(config: PrimaryConfig, services: ServiceSpec[], problems: string[]): void {
    const enabled = new Set(services.map((s) => s.name));
    const enable = (name: string) => `pulumi config set --path ${NAMESPACE}:services.${name}.enabled true`;
    config.routes.forEach((route, i) => {
        if (enabled.has(route.service)) return;
        problems.push(`${NAMESPACE}:routes[${i}].service: bad value "${route.service}": services.${route.service} is disabled, so ${route.hostname} would reach nothing; fix with: ${enable(route.service)}, or route the hostname to an enabled service`);
    });
    if (config.tenantHostnames.length > 0 && !enabled.has("gateway")) {
        problems.push(`${NAMESPACE}:tenantHostnames: bad value ${JSON.stringify(config.tenantHostnames)}: client hostnames are routed to the gateway, and services.gateway is disabled; fix with: ${enable("gateway")}`);
    }
}

/** A command line that names its own port must name the configured one: the tunnel and the drill go there. */
function checkListeningPorts(services: ServiceSpec[], problems: string[]): void {
    for (const service of services) {
        const listens = /--port[= ]([0-9]+)\b/.exec(service.execStart)?.[1];
        if (listens === undefined || Number(listens) === service.port) continue;
        problems.push(`${NAMESPACE}:services.${service.name}.execStart: bad value "${service.execStart}": it listens on port ${listens}, but services.${service.name}.port is ${service.port}, where the tunnel and the fire drill go; fix with: pulumi config set --path ${NAMESPACE}:services.${service.name}.port ${listens}`);
    }
}

function isWithin(child: string, parent: string): boolean {
    const p = parent.endsWith("/") ? parent : parent + "/";
    return child === parent || child.startsWith(p);
}

function standbyArchitecture(config: StandbyConfig, problems: string[]): Architecture | undefined {
    if (config.standby.provider === "existing") return config.standby.existing.arch;
    const arch = architectureOfServerType(config.standby.hetzner.serverType);
    if (!arch) {
        problems.push(`${NAMESPACE}:standby.hetzner.serverType: bad value "${config.standby.hetzner.serverType}": unknown server family; use a cx/cpx/ccx (amd64) type, or a cax (arm64) type in an EU location; fix with: pulumi config set --path ${NAMESPACE}:standby.hetzner.serverType cpx11`);
    }
    return arch;
}

/** The standby stack learns the primary's architecture and paths from the primary stack, so this runs once they are read. */
export function checkAgainstPrimary(config: StandbyConfig, primaryArch: Architecture, paths: PathsConfig): void {
    const problems: string[] = [];
    checkBinary(config.binaries.litestream, "litestream", primaryArch, "the primary", problems);
    checkDrillDatabase(config.agent.drill, paths, problems);
    if (problems.length > 0) throw new ConfigError(problems);
}

/** The drill finds its event on the standby after a takeover, so it must go to a database that is replicated. */
function checkDrillDatabase(drill: DrillConfig, paths: PathsConfig, problems: string[]): void {
    if (!drill.event) return;
    const { database } = drill.event;
    if (paths.databases.includes(database) || isWithin(database, paths.tenantsDir)) return;
    const key = `${NAMESPACE}:agent.drill.event.database`;
    problems.push(
        `${key}: bad value "${database}": the primary stack does not replicate it (paths.databases: ${paths.databases.join(", ")}; tenantsDir: ${paths.tenantsDir}), ` +
            `so the drill could never find its event on the standby; fix with: pulumi config set --path ${key} <the scoreboard's database from paths.databases>, ` +
            `or pulumi config set --path ${NAMESPACE}:agent.drill.event false`,
    );
}

function checkBinary(
    sources: BinariesPerArchitecture,
    name: string,
    arch: Architecture,
    where: string,
    problems: string[],
): void {
    const key = `${NAMESPACE}:binaries.${name}.${arch}`;
    const source: BinarySource | undefined = sources[arch];
    if (!source) {
        problems.push(`${key}: missing; ${where} runs ${arch} and needs a ${name} built for it. Set {url, sha256} of the linux-${arch} release or {path} of a local binary: pulumi config set --path ${key}.path /path/to/${name}`);
        return;
    }
    if ("url" in source) {
        const other = arch === "amd64" ? /arm64|aarch64/ : /amd64|x86_64|x86-64/;
        if (other.test(source.url)) {
            problems.push(`${key}.url: bad value "${source.url}": the URL names another architecture but ${where} runs ${arch}; use the linux-${arch} release`);
        }
        return;
    }
    if (!fs.existsSync(source.path)) {
        problems.push(`${key}.path: bad value "${source.path}": no such file on this machine; build or download ${name} for linux-${arch} first`);
        return;
    }
    const actual = elfArchitecture(source.path);
    if (actual !== arch) {
        problems.push(`${key}.path: bad value "${source.path}": the file is ${actual ?? "not a Linux executable"} but ${where} runs ${arch}; give a linux-${arch} build`);
    }
}
