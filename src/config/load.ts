import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { primarySchema, standbySchema, tenantSchema, tunnelCredentials, TunnelCredentials } from "./schema";
import { checkDuplicateHostnames, checkPrimary, checkStandbyBinaries, checkStandbyLink, standbyArchitecture } from "./checks";
import { ConfigError, NAMESPACE, PrimaryConfig, PrimarySettings, RawConfig, Role, Settings, StandbySettings, TenantSettings } from "./settings";
import { resolveServices } from "../render/service-units";

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
    const services = resolveServices(config.services);
    checkPrimary(config, services, problems);
    const credentials = loadTunnelAccess(config.tunnel, raw, problems);
    if (problems.length > 0 || !primarySshKey) return undefined;
    return { role: "primary", config, services, primarySshKey, tunnelCredentials: credentials };
}

/** An adopted tunnel brings its own credentials; creating one or managing its DNS goes through the Cloudflare API. */
function loadTunnelAccess(
    tunnel: PrimaryConfig["tunnel"],
    raw: RawConfig,
    problems: string[],
): pulumi.Output<TunnelCredentials> | undefined {
    const credentials = tunnel.mode === "adopt" ? parseTunnelCredentials(raw, problems) : undefined;
    if (tunnel.mode === "create" || tunnel.manageDns) {
        requireProviderToken(raw, "cloudflare:apiToken", "CLOUDFLARE_API_TOKEN", "the Cloudflare API token", problems);
        if (tunnel.manageDns && !tunnel.zoneId) {
            problems.push(`${NAMESPACE}:tunnel.zoneId: missing while manageDns is true; set it with: pulumi config set --path ${NAMESPACE}:tunnel.zoneId <zone id>, or set ${NAMESPACE}:tunnel.manageDns false`);
        }
    }
    return credentials ? pulumi.secret(credentials) : undefined;
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
    if (standbyArch) checkStandbyBinaries(config, standbyArch, problems);
    checkStandbyLink(config, problems);
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
