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
/** The flip's exit status for "serve, then fail the step": its work is done but a debt is left (host/scripts/set-serving.sh). */
export const FLIP_SERVED_WITH_DEBT = 75;
/** The seconds of the serving step's time limit that the flip may take: every wait in it is bounded by what is left. */
export const FLIP_BUDGET_ENV = "WIREBOT_FLIP_BUDGET_SECONDS";
export const LITESTREAM_SOCKET = "/run/wirebot-litestream/litestream.sock";

/** The host scripts the agent runs; the program installs them from host/bin. */
export const HOST_COMMANDS = {
    restore: "/usr/local/sbin/wirebot-restore",
    placeFiles: "/usr/local/sbin/wirebot-place-files",
    fileSync: "/usr/local/sbin/wirebot-file-sync",
    merge: "/usr/local/sbin/wirebot-merge",
    lettaDump: "/usr/local/sbin/wirebot-letta-dump",
} as const;

/**
 * Where each agent answers which host it is and whether its connector serves,
 * signed with the heartbeat token (heartbeat/witness-endpoint.ts). The tunnel
 * routes this path on its first hostname to the agent of whichever host's
 * connector is up: the witness every agent asks by default.
 */
export const WITNESS_PATH = "/.well-known/wirebot/serving";

/** A tenant's id, as its stack is named (tenant-<id>); its database is <tenantsDir>/<id>/events.db. */
export const TENANT_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,30}[a-z0-9]$/;

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
    /**
     * Where the peer calls this agent, when that is not the listen address (a
     * wildcard listener, an address translated on the way): a signed request
     * names the agent it is meant for, and one naming another is refused.
     */
    calledAt: endpoint.optional(),
    peer: endpoint,
    heartbeatIntervalSeconds: z.number().int().positive(),
    missThreshold: z.number().int().positive(),
    autoActivate: z.boolean(),
    /**
     * Who says which host serves the public hostname. `signed`: the tunnel's
     * own witness route (WITNESS_PATH), whose answers are signed with the
     * heartbeat token over a fresh challenge; otherwise the operator's URL,
     * whose JSON names the serving host in `host`, unsigned. Null: none.
     */
    witness: z.object({ url: z.string().min(1), signed: z.boolean() }).nullable(),
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
