import type { AgentConfig } from "../../contract";
import { readState, writeState } from "../core/state";

/**
 * What the standby last heard from the primary: a heartbeat, or a claim to serve
 * (the primary about to start its connector or services). Either is proof that
 * the primary lives; an activation that is not the primary's own request
 * refuses while the last one is recent.
 */
export const LAST_RECEIVED = "last-heartbeat.json";
export const LAST_CLAIM = "last-claim.json";

export function recordHeartbeat(config: AgentConfig, nowMs: number, from: string | undefined, heartbeat: unknown): void {
    writeState(config.stateDir, LAST_RECEIVED, { receivedAt: new Date(nowMs).toISOString(), from, heartbeat });
}

export function recordClaim(config: AgentConfig, nowMs: number, from: string | undefined, unit: string): void {
    writeState(config.stateDir, LAST_CLAIM, { receivedAt: new Date(nowMs).toISOString(), from, unit });
}

function ageSeconds(config: AgentConfig, name: string, nowMs: number): number | null {
    const last = readState<{ receivedAt: string }>(config.stateDir, name);
    return last ? (nowMs - Date.parse(last.receivedAt)) / 1000 : null;
}

/** Seconds since the last heartbeat; null before the first one this standby received. */
export function heartbeatAgeSeconds(config: AgentConfig, nowMs: number): number | null {
    return ageSeconds(config, LAST_RECEIVED, nowMs);
}

/** Seconds since the primary last showed life (heartbeat or claim); null when it never did. */
export function primarySilenceSeconds(config: AgentConfig, nowMs: number): number | null {
    const ages = [ageSeconds(config, LAST_RECEIVED, nowMs), ageSeconds(config, LAST_CLAIM, nowMs)].filter((a): a is number => a !== null);
    return ages.length ? Math.min(...ages) : null;
}

/** The silence after which the primary counts as down: the configured misses of the heartbeat interval. */
export function primaryDownAfterSeconds(config: AgentConfig): number {
    return config.heartbeatIntervalSeconds * config.missThreshold;
}
