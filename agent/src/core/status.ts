import * as os from "node:os";
import type { AgentConfig, HostStatus } from "../../contract";
import { activationUnderway, takeoverRecord } from "../takeover/activation";
import { DRILL_STATE, DrillReport } from "../drill/drill";
import { readHandback } from "../takeover/handback-record";
import { keptDirOf, keptExports, owesHandback } from "../takeover/handback";
import { MERGED } from "../takeover/handover";
import { RESEED_PENDING } from "../takeover/reseed";
import { STANDBY_FORGOTTEN } from "../takeover/failback";
import { overrideUntil } from "../heartbeat/serve-override";
import { SKEW_MS } from "../heartbeat/auth";
import { LAST_SENT, LETTA_DUMP_STATE, LettaDumpRecord, replicationLag, SendRecord } from "../monitoring/host-metrics";
import { lastFileSync } from "../replication/file-sync";
import { LAST_RECEIVED, primaryDownAfterSeconds } from "../heartbeat/primary-life";
import { readState } from "./state";
import { unitStates } from "./systemd";

/** `wirebot-failover status`: this host's side of the failover, read from systemd and the agent's state files. */
export function hostStatus(config: AgentConfig, nowMs = Date.now()): HostStatus & Record<string, unknown> {
    const units = unitStates([...config.units.services, config.units.connector]);
    const base = {
        role: config.role,
        host: os.hostname(),
        at: new Date(nowMs).toISOString(),
        serving: units[config.units.connector]?.active === "active",
        units,
    };
    if (config.role === "primary") {
        return {
            ...base,
            heartbeat: sentHeartbeat(config, nowMs),
            replication: replication(config, nowMs),
            lastDrill: lastDrill(config),
            ...failbackState(config, nowMs),
            // Kept for readers of the first version of this document.
            lastHeartbeatSent: readState(config.stateDir, LAST_SENT),
        };
    }
    const takeover = takeoverRecord(config);
    return {
        ...base,
        heartbeat: receivedHeartbeat(config, nowMs),
        clockSkew: clockSkew(config),
        takeover: takeover && { at: takeover.at, reason: takeover.reason, automatic: takeover.automatic, planned: takeover.planned, acknowledged: takeover.acknowledged },
        activating: activationUnderway(config),
        handback: handbackState(config),
        handbackOwed: owesHandback(config),
        keptExports: keptExports(config),
        lastHeartbeatReceived: readState(config.stateDir, LAST_RECEIVED),
    };
}

/** The primary's side of a failback: the last merge, a reseed still owed, and the operator's forget-standby and override-serve. */
function failbackState(config: AgentConfig, nowMs: number): Pick<HostStatus, "lastMerge" | "reseedOwed" | "standbyForgotten" | "serveOverrideUntil"> {
    const merge = readState<{ id?: string; at?: string }>(config.stateDir, MERGED);
    const owed = readState<{ handbackId?: string; at?: string }>(config.stateDir, RESEED_PENDING);
    const forgotten = readState<{ at?: string }>(config.stateDir, STANDBY_FORGOTTEN);
    return {
        lastMerge: merge?.id && merge.at ? { id: merge.id, at: merge.at } : null,
        reseedOwed: owed ? { handbackId: owed.handbackId ?? "unknown", at: owed.at ?? "unknown" } : null,
        standbyForgotten: forgotten ? { at: forgotten.at ?? "unknown" } : null,
        serveOverrideUntil: overrideUntil(config, nowMs),
    };
}

function handbackState(config: AgentConfig): HostStatus["handback"] {
    const handback = readHandback(config);
    if (!handback) return null;
    const outbox = config.fileSync?.outboxDir;
    const keptIn = handback.state === "kept" && outbox ? `${keptDirOf(outbox)}/${handback.id}` : undefined;
    return { id: handback.id, at: handback.at, merged: handback.merged, state: handback.state, ...(keptIn ? { keptIn } : {}) };
}

/** The primary's clock as the last heartbeat taken showed it (the watchdog records the offset of every authentic one). */
function clockSkew(config: AgentConfig): HostStatus["clockSkew"] {
    const last = readState<{ receivedAt: string; heartbeat?: { skewMs?: unknown } }>(config.stateDir, LAST_RECEIVED);
    const skewMs = last?.heartbeat?.skewMs;
    if (!last || typeof skewMs !== "number") return null;
    return { aheadMs: skewMs, at: last.receivedAt, allowedMs: SKEW_MS };
}

const ageOf = (at: string, nowMs: number) => Math.max(0, (nowMs - Date.parse(at)) / 1000);

function sentHeartbeat(config: AgentConfig, nowMs: number): HostStatus["heartbeat"] {
    const last = readState<SendRecord>(config.stateDir, LAST_SENT);
    return {
        at: last?.at ?? null,
        ageSeconds: last ? ageOf(last.at, nowMs) : null,
        ok: last ? last.ok : null,
        ...(last?.error ? { error: last.error } : {}),
        downAfterSeconds: primaryDownAfterSeconds(config),
    };
}

function receivedHeartbeat(config: AgentConfig, nowMs: number): HostStatus["heartbeat"] {
    const last = readState<{ receivedAt: string }>(config.stateDir, LAST_RECEIVED);
    const age = last ? ageOf(last.receivedAt, nowMs) : null;
    const limit = primaryDownAfterSeconds(config);
    return { at: last?.receivedAt ?? null, ageSeconds: age, ok: age === null ? null : age < limit, downAfterSeconds: limit };
}

function replication(config: AgentConfig, nowMs: number): HostStatus["replication"] {
    const sync = lastFileSync(config);
    const letta = readState<LettaDumpRecord>(config.stateDir, LETTA_DUMP_STATE);
    return {
        litestream: unitStates(["wirebot-litestream.service"])["wirebot-litestream.service"].active,
        lagSeconds: replicationLag(config, nowMs),
        fileSync: sync && { at: sync.at, ok: sync.ok, ...(sync.reason ? { reason: sync.reason } : {}) },
        lettaDump: letta && { at: letta.at, ok: letta.ok, ...(letta.skipped ? { skipped: true } : {}), ...(letta.reason ? { reason: letta.reason } : {}) },
    };
}

function lastDrill(config: AgentConfig): HostStatus["lastDrill"] {
    const report = readState<DrillReport>(config.stateDir, DRILL_STATE);
    if (!report) return null;
    const failed = report.steps.find((s) => !s.ok);
    return { at: report.startedAt, ok: report.ok, primaryOffMs: report.primaryOffMs, ...(failed ? { failed: `${failed.step}: ${failed.detail}` } : {}) };
}
