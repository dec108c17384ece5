import { z } from "zod";

// What the program writes and the agent reads: the config file's shape and the
// paths both sides must agree on. The program type-checks the file it renders
// against this schema; the agent parses the file with it.

export const AGENT_CONFIG_PATH = "/etc/wirebot/agent.json";
export const HEARTBEAT_TOKEN_PATH = "/etc/wirebot/heartbeat.token";
export const ALERT_WEBHOOK_PATH = "/etc/wirebot/alert-webhook.url";
export const AGENT_STATE_DIR = "/var/lib/wirebot-failover";
export const AGENT_BUNDLE_PATH = "/usr/local/lib/wirebot-failover/wirebot-agent.js";
export const AGENT_COMMAND_PATH = "/usr/local/bin/wirebot-failover";
/** What each host's serving step runs before it changes anything: the handover and the refusals of a flip. */
export const FLIP_COMMAND = `${AGENT_COMMAND_PATH} flip`;
export const LITESTREAM_SOCKET = "/run/wirebot-litestream/litestream.sock";

/** The host scripts the agent runs; the program installs them from host/bin. */
export const HOST_COMMANDS = {
    restore: "/usr/local/sbin/wirebot-restore",
    placeFiles: "/usr/local/sbin/wirebot-place-files",
    fileSync: "/usr/local/sbin/wirebot-file-sync",
    merge: "/usr/local/sbin/wirebot-merge",
    lettaDump: "/usr/local/sbin/wirebot-letta-dump",
} as const;

const endpoint = z.object({ address: z.string().min(1), port: z.number().int().min(1).max(65535) });

const probes = z.object({
    /** Each must answer HTTP below 500. */
    endpoints: z.array(z.object({ name: z.string(), url: z.string() })),
    /** An OpenAI-compatible chat completion that must come back with text. */
    chat: z.object({ url: z.string(), model: z.string() }).nullable(),
    /** A scoreboard event that must be acknowledged and then found in its database. */
    event: z.object({ url: z.string(), database: z.string(), table: z.string(), idColumn: z.string() }).nullable(),
});
export type Probes = z.infer<typeof probes>;

export const agentConfigSchema = z.object({
    role: z.enum(["primary", "standby"]),
    listen: endpoint,
    peer: endpoint,
    heartbeatIntervalSeconds: z.number().int().positive(),
    missThreshold: z.number().int().positive(),
    autoActivate: z.boolean(),
    witnessUrl: z.string().nullable(),
    tokenFile: z.string().min(1),
    alertWebhookUrlFile: z.string().nullable(),
    stateDir: z.string().min(1),
    units: z.object({ services: z.array(z.string()), connector: z.string() }),
    databases: z.array(z.object({ path: z.string(), replica: z.string() })),
    tenantsDir: z.string(),
    replicaDir: z.string(),
    /** Where Litestream's directory watch puts the tenants' replicas. */
    tenantsReplicaDir: z.string(),
    /** The hub's files: watched on the primary, put in place from the staging copy when the standby activates. */
    fileSync: z
        .object({ paths: z.array(z.string()), debounceSeconds: z.number().positive(), stagingDir: z.string(), outboxDir: z.string() })
        .nullable()
        .optional(),
    /** What a fire drill checks on the side that serves. */
    probes: probes.optional(),
});
export type AgentConfig = z.infer<typeof agentConfigSchema>;

const unitState = z.object({ active: z.string(), enabled: z.string() });

/**
 * What `wirebot-failover status --json` prints on a host; the operator's
 * `wirebot-ops status` reads it over SSH. Everything after `units` came later
 * and is optional, so the answer of an older agent still parses.
 */
export const hostStatusSchema = z.object({
    role: z.enum(["primary", "standby"]),
    units: z.record(z.string(), unitState),
    host: z.string().optional(),
    /** The host's clock when it answered. */
    at: z.string().optional(),
    /** The tunnel connector runs here. */
    serving: z.boolean().optional(),
    /** Primary: the last heartbeat sent and whether the standby took it. Standby: the last one received. */
    heartbeat: z
        .object({
            at: z.string().nullable(),
            ageSeconds: z.number().nullable(),
            ok: z.boolean().nullable(),
            error: z.string().optional(),
            /** Silence after which the standby counts the primary as down. */
            downAfterSeconds: z.number(),
        })
        .optional(),
    /** Primary only: Litestream's lag per database (seconds, null when unknown), file sync and Letta dump. */
    replication: z
        .object({
            litestream: z.string(),
            lagSeconds: z.record(z.string(), z.number().nullable()),
            fileSync: z.object({ at: z.string(), ok: z.boolean(), reason: z.string().optional() }).nullable(),
            lettaDump: z.object({ at: z.string(), ok: z.boolean(), skipped: z.boolean().optional(), reason: z.string().optional() }).nullable(),
        })
        .optional(),
    /** Primary only: the last fire drill. */
    lastDrill: z.object({ at: z.string(), ok: z.boolean(), primaryOffMs: z.number().nullable(), failed: z.string().optional() }).nullable().optional(),
    /** Standby only: the last takeover, whether an activation runs now, and the last export handed back. */
    takeover: z.object({ at: z.string(), reason: z.string(), automatic: z.boolean(), planned: z.boolean(), acknowledged: z.boolean() }).nullable().optional(),
    activating: z.boolean().optional(),
    handback: z.object({ id: z.string(), at: z.string(), merged: z.boolean() }).nullable().optional(),
});
export type HostStatus = z.infer<typeof hostStatusSchema>;
