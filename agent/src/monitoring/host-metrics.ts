import * as http from "node:http";
import type { AgentConfig } from "../../contract";
import { databasesOf } from "../replication/databases";
import { lastFileSync } from "../replication/file-sync";
import { lagSeconds } from "../replication/ltx-position";
import { MetricsSnapshot, renderMetrics } from "./metrics";
import { MissCounter } from "../heartbeat/miss-counter";
import { readState } from "../core/state";

export const LETTA_DUMP_STATE = "letta-dump.json";
export const LAST_SENT = "last-heartbeat-sent.json";

export interface SendRecord {
    at: string;
    seq: number;
    ok: boolean;
    error?: string;
    /** Each replica's last transaction, as the standby answered the heartbeat. */
    replicas?: Record<string, string | null>;
}

export interface LettaDumpRecord {
    at: string;
    ok: boolean;
    skipped?: boolean;
    reason?: string;
    file?: string;
}

const seconds = (iso: string | undefined) => (iso ? Date.parse(iso) / 1000 : null);

/**
 * Lag per database from the replica positions the standby last reported: as of
 * that report while heartbeats get through, as of now once they do not (the
 * lag then grows, as it does on the standby).
 */
export function replicationLag(config: AgentConfig, nowMs: number): Record<string, number | null> {
    const sent = readState<SendRecord>(config.stateDir, LAST_SENT);
    const replicas = sent?.replicas ?? {};
    const asOf = sent?.ok ? Date.parse(sent.at) : nowMs;
    return Object.fromEntries(databasesOf(config).map((db) => [db.live, lagSeconds(db.live, replicas[db.live], asOf)]));
}

/** `serving`: whether this host's connector is active, as the agent's UnitStates last read it. */
export function replicatorMetrics(config: AgentConfig, serving: boolean, nowMs = Date.now()): MetricsSnapshot {
    const sent = readState<SendRecord>(config.stateDir, LAST_SENT);
    const sync = lastFileSync(config);
    const letta = readState<LettaDumpRecord>(config.stateDir, LETTA_DUMP_STATE);
    return {
        role: "primary",
        heartbeatAgeSeconds: sent?.ok ? (nowMs - Date.parse(sent.at)) / 1000 : null,
        lastFileSyncSeconds: sync?.ok ? seconds(sync.at) : null,
        fileSyncOk: sync ? sync.ok : null,
        replicationLagSeconds: replicationLag(config, nowMs),
        lastLettaDumpSeconds: letta?.ok && !letta.skipped ? seconds(letta.at) : null,
        serving,
    };
}

export function standbyMetrics(config: AgentConfig, counter: MissCounter, serving: boolean, nowMs: number): MetricsSnapshot {
    return {
        role: "standby",
        heartbeatAgeSeconds: (nowMs - counter.lastSeen()) / 1000,
        lastFileSyncSeconds: null,
        fileSyncOk: null,
        replicationLagSeconds: {},
        lastLettaDumpSeconds: null,
        serving,
    };
}

export async function sendMetrics(res: http.ServerResponse, snapshot: MetricsSnapshot): Promise<void> {
    const metrics = await renderMetrics(snapshot);
    res.writeHead(200, { "content-type": metrics.contentType }).end(metrics.body);
}
