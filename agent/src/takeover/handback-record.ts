import type { AgentConfig } from "../../contract";
import { readState } from "../core/state";
import type { ExportEntry } from "./export";

export const HANDBACK = "handback.json";

/**
 * Where the standby's hand-back stands: "exporting" is written before its
 * services stop, "exported" once the copy of its databases is complete in the
 * outbox, "merged" once the primary has merged it; "kept" when the operator set
 * it aside for a merge by hand (keep-export), the primary being unable to take it.
 */
export type HandbackState = "exporting" | "exported" | "merged" | "kept";

/** The standby's record of the copy it made of its databases when it gave the role back. */
export interface Handback {
    id: string;
    at: string;
    state: HandbackState;
    /** The `at` of the takeover this export hands back; undefined in records older than this field. */
    takeoverAt?: string | null;
    exported: ExportEntry[];
    /** Size of the hub's files in the export, for the primary's check before it pulls. */
    fileBytes?: number;
    merged: boolean;
}

export function readHandback(config: AgentConfig): Handback | null {
    const record = readState<Partial<Handback>>(config.stateDir, HANDBACK);
    if (!record?.id || !record.at) return null;
    // Records from before the state field were written once the export was complete.
    const state: HandbackState = record.state ?? (record.merged ? "merged" : "exported");
    return { id: record.id, at: record.at, state, takeoverAt: record.takeoverAt, exported: record.exported ?? [], fileBytes: record.fileBytes, merged: state === "merged" };
}

/** The export waits for the primary's merge, complete or not (not merged, not kept aside by the operator). */
export function awaitsMerge(handback: Handback | null): handback is Handback {
    return handback?.state === "exporting" || handback?.state === "exported";
}

/** An export the primary has not merged, complete or not: the writes this standby took exist only here. */
export function unmergedExport(config: AgentConfig): Handback | null {
    const handback = readHandback(config);
    return awaitsMerge(handback) ? handback : null;
}

export function describeUnmerged(handback: Handback): string {
    return `export ${handback.id} of ${handback.at} is ${handback.state === "exporting" ? "not complete" : "not merged into the primary"} yet`;
}
