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

/**
 * Where an agent listens: each address on one port. Loopback is where this
 * host's own commands and the tunnel's connector reach it; the standby's
 * watchdog also listens on its address on the WireGuard link, where the
 * primary's agent calls it, and nowhere else. The single `address` of an
 * older program's file is taken as a list of one.
 */
const listenOn = z.preprocess(
    (value) => {
        if (value === null || typeof value !== "object" || !("address" in value) || "addresses" in value) return value;
        const { address, ...rest } = value as { address: unknown };
        return { ...rest, addresses: [address] };
    },
    z.object({ addresses: z.array(z.string().min(1)).min(1), port: z.number().int().min(1).max(65535) }),
);
export type ListenOn = z.infer<typeof listenOn>;

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
    listen: listenOn,
    /**
     * Where the peer calls this agent (the standby's address on the link): a
     * signed request names the agent it is meant for, and one naming another
     * is refused.
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
    /** Primary only: the last export of the standby merged here. */
    lastMerge: z.object({ id: z.string(), at: z.string() }).nullable().optional(),
    /**
     * Primary only: a failback began merging this export and the standby's
     * replicas are owed a fresh start; it stays until replication has started
     * over (a flip that served "with a debt" leaves it, and its re-run pays it).
     */
    reseedOwed: z.object({ handbackId: z.string(), at: z.string() }).nullable().optional(),
    /** Primary only: the operator's forget-standby, standing for the next failback flip that cannot ask the standby. */
    standbyForgotten: z.object({ at: z.string() }).nullable().optional(),
    /** Primary only: when the operator's override-serve lapses; null when none is in force. */
    serveOverrideUntil: z.string().nullable().optional(),
    /** Standby only: the last takeover, whether an activation runs now, and the last export handed back. */
    takeover: z.object({ at: z.string(), reason: z.string(), automatic: z.boolean(), planned: z.boolean(), acknowledged: z.boolean() }).nullable().optional(),
    activating: z.boolean().optional(),
    handback: z
        .object({
            id: z.string(),
            at: z.string(),
            /** Kept for readers from before `state`: true once the primary has merged it. */
            merged: z.boolean(),
            /** exporting (not complete), exported (waits for the primary's merge), merged, kept (set aside with keep-export). */
            state: z.enum(["exporting", "exported", "merged", "kept"]).optional(),
            /** Where a kept export waits for a merge by hand. */
            keptIn: z.string().optional(),
        })
        .nullable()
        .optional(),
    /** Standby only: it took over since its last export and has not handed back what it wrote. */
    handbackOwed: z.boolean().optional(),
    /** Standby only: every export set aside with keep-export; nothing merges or removes them. */
    keptExports: z.array(z.object({ id: z.string(), path: z.string() })).optional(),
    /**
     * Standby only: how far the primary's clock is ahead of this host's (behind
     * when negative, transit included), as the last heartbeat taken showed it,
     * and the offset the agents allow for transit.
     */
    clockSkew: z.object({ aheadMs: z.number(), at: z.string(), allowedMs: z.number() }).nullable().optional(),
});
export type HostStatus = z.infer<typeof hostStatusSchema>;
