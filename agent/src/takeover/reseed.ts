import * as fs from "node:fs";
import type { AgentConfig } from "../../contract";
import { Deadline } from "../core/deadline";
import { readState, removeState, writeState } from "../core/state";
import { isActive, isEnabled, systemctl } from "../core/systemd";
import { databasesOf } from "../replication/databases";
import { localStateDir } from "../replication/ltx-position";
import { callStandby, LITESTREAM_UNIT, STANDBY_CALL_TIMEOUT_MS } from "./handover";

/** On the primary: the standby's replicas are owed a fresh start since a failback merged its export. */
export const RESEED_PENDING = "reseed-pending.json";

/**
 * Recorded before the merge begins: a failback that dies after the standby has
 * heard of the merge finds the export merged, and still starts replication over.
 */
export function owe(config: AgentConfig, handbackId: string): void {
    writeState(config.stateDir, RESEED_PENDING, { handbackId, at: new Date().toISOString() });
}

export function owed(config: AgentConfig): boolean {
    return readState(config.stateDir, RESEED_PENDING) !== null;
}

/**
 * After the standby served, its replicas hold the primary's data from before:
 * they are emptied on the standby and Litestream starts over from the primary's
 * databases as they are now, so no stale position is ever mixed in. The
 * standby empties first: if it cannot, this host's Litestream state stays as it
 * was and matches the replicas it still has. Litestream runs again afterwards
 * whatever happened (when it is enabled here); the debt stays recorded until a reseed succeeds.
 */
export async function reseedReplicas(config: AgentConfig, token: string, deadline = Deadline.unbounded()): Promise<string> {
    const wasActive = isActive(LITESTREAM_UNIT);
    // Enabled but stopped is how a run that could not start it again left it.
    const runs = wasActive || isEnabled(LITESTREAM_UNIT);
    if (wasActive) systemctl("stop", LITESTREAM_UNIT);
    const dbs = databasesOf(config);
    try {
        await deadline.within("the standby's emptying of its replicas", STANDBY_CALL_TIMEOUT_MS, (ms) => callStandby(config, token, "/reseed", {}, ms));
        for (const db of dbs) fs.rmSync(localStateDir(db.live), { recursive: true, force: true });
    } finally {
        if (runs) systemctl("start", LITESTREAM_UNIT);
    }
    removeState(config.stateDir, RESEED_PENDING);
    return `${dbs.length} database(s) replicate afresh${runs ? "" : " (Litestream is not enabled here)"}`;
}
