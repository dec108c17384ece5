import * as fs from "node:fs";
import * as path from "node:path";
import { signedHeaders } from "../heartbeat/auth";
import { type AgentConfig, HOST_COMMANDS } from "../../contract";
import { databasesOf, durableFingerprint } from "../replication/databases";
import { ExportManifest, MANIFEST } from "./export";
import type { Handback } from "./handback-record";
import { localStateDir, position } from "../replication/ltx-position";
import { Deadline } from "../core/deadline";
import { ensureSpace } from "../core/disk-space";
import { mergeFiles } from "./file-handback";
import { inboxFor, pruneInbox } from "./inbox";
import { writeState } from "../core/state";

export const LITESTREAM_UNIT = "wirebot-litestream.service";
export const MERGED = "last-merge.json";
export const STANDBY_CALL_TIMEOUT_MS = 120_000;
/** A pull or a merge's own limit; within a flip, what is left of its budget when that is shorter. */
const COMMAND_LIMIT_MS = 600_000;
export const ASK_TIMEOUT_MS = 3000;

/** What the standby's GET /serving answers. */
export interface StandbyView {
    serving: boolean;
    /** An activation runs on the standby right now. */
    activating: boolean;
    takeover: { at: string; reason: string; automatic?: boolean; acknowledged?: boolean } | null;
    handback: Handback | null;
}

/** The standby answered a call with its reason not to do it (a refusal, or its own failure). */
export class StandbyRefused extends Error {}

/** A signed call to the standby's agent; a refusal comes back as an error carrying the standby's reason. */
export async function callStandby(config: AgentConfig, token: string, call: string, body: unknown, timeoutMs = STANDBY_CALL_TIMEOUT_MS): Promise<unknown> {
    const text = JSON.stringify(body);
    const response = await fetch(`http://${config.peer.address}:${config.peer.port}${call}`, {
        method: "POST",
        headers: signedHeaders(token, text),
        body: text,
        signal: AbortSignal.timeout(timeoutMs),
    });
    const answer = (await response.json()) as { error?: string };
    if (!response.ok) throw new StandbyRefused(`standby ${call}: HTTP ${response.status}: ${answer.error ?? "no detail"}`);
    return answer;
}

/** The standby's own account of whether it serves, or null when it cannot be asked. */
export async function askStandby(config: AgentConfig): Promise<StandbyView | { unreachable: string }> {
    try {
        const response = await fetch(`http://${config.peer.address}:${config.peer.port}/serving`, { signal: AbortSignal.timeout(ASK_TIMEOUT_MS) });
        const body = (await response.json()) as Partial<StandbyView>;
        return { serving: Boolean(body.serving), activating: Boolean(body.activating), takeover: body.takeover ?? null, handback: body.handback ?? null };
    } catch (err) {
        return { unreachable: (err as Error).message };
    }
}

/** Fingerprints of every live database, taken once writes have stopped: what the standby must hold before it serves. */
export function fingerprints(config: AgentConfig): Record<string, string | null> {
    return Object.fromEntries(databasesOf(config).map((db) => [db.live, durableFingerprint(db.live)]));
}

/** The last transaction Litestream has taken from each live database, for telling a slow replica from a stuck replicator. */
export function localPositions(config: AgentConfig): string {
    return databasesOf(config).map((db) => `${db.live} transaction ${position(localStateDir(db.live)) ?? "none"}`).join(", ");
}

/**
 * Pulls the standby's exported copies over the sync key and merges each into
 * its live database by key (tenant databases new on the standby are copied
 * whole), puts the hub's files it wrote in place (see mergeFiles), then tells
 * the standby its copy is merged.
 */
export async function mergeHandback(config: AgentConfig, token: string, handback: Handback, deadline = Deadline.unbounded()): Promise<string> {
    const handbackId = handback.id;
    const inbox = inboxFor(config, handbackId);
    const bytes = handback.exported.reduce((sum, e) => sum + (e.bytes ?? 0), 0) + (handback.fileBytes ?? 0);
    ensureSpace(inbox, bytes, `the pull of the standby's export ${handbackId}`);
    deadline.run("the pull of the standby's export", COMMAND_LIMIT_MS, HOST_COMMANDS.fileSync, ["pull", "outbox", inbox], { stdio: ["ignore", "pipe", "pipe"] });
    const manifest = JSON.parse(fs.readFileSync(path.join(inbox, MANIFEST), "utf8")) as ExportManifest;
    if (manifest.id !== handbackId) throw new Error(`the standby's outbox holds export ${manifest.id}, not ${handbackId}; run the flip again`);
    const lines = manifest.entries.map((e) => deadline.run(`the merge of ${e.live}`, COMMAND_LIMIT_MS, HOST_COMMANDS.merge, [path.join(inbox, e.file), e.live]).trim());
    const files = mergeFiles(manifest.files ?? [], inbox, handbackId);
    writeState(config.stateDir, MERGED, { id: handbackId, at: new Date().toISOString(), lines, files });
    pruneInbox(config);
    await deadline.within("telling the standby its export is merged", STANDBY_CALL_TIMEOUT_MS, (ms) => callStandby(config, token, "/merged", { id: handbackId }, ms));
    const databases = lines.length === 0 ? "nothing to merge" : lines.map((l) => l.replace(/^merged \S+ into /, "")).join("; ");
    return `${databases}; ${files}`;
}
