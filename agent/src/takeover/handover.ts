import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { signedCall, Unreachable } from "../heartbeat/signed-call";
import { readSecretFile } from "../core/config";
import { type AgentConfig, HOST_COMMANDS } from "../../contract";
import { databasesOf, durableFingerprint } from "../replication/databases";
import { ExportEntry, ExportManifest, MANIFEST } from "./export";
import { checkManifestEntries } from "./manifest-check";
import { localStateDir, position } from "../replication/ltx-position";
import { writeState } from "../core/state";
import { isActive, systemctl } from "../core/systemd";

export const LITESTREAM_UNIT = "wirebot-litestream.service";
export const MERGED = "last-merge.json";
const STANDBY_CALL_TIMEOUT_MS = 120_000;
export const ASK_TIMEOUT_MS = 3000;

/** What the standby's GET /serving answers. */
export interface StandbyView {
    serving: boolean;
    /** An activation runs on the standby right now. */
    activating: boolean;
    takeover: { at: string; reason: string; automatic?: boolean; acknowledged?: boolean } | null;
    handback: Handback | null;
}

/** The standby's record of the copy it made of its databases when it gave the role back. */
export interface Handback {
    id: string;
    at: string;
    exported: ExportEntry[];
    merged: boolean;
}

/** A signed call to the standby's agent; a refusal comes back as an error carrying the standby's reason. */
export async function callStandby(config: AgentConfig, token: string, call: string, body: unknown, timeoutMs = STANDBY_CALL_TIMEOUT_MS): Promise<unknown> {
    const answer = await signedCall<{ error?: string }>(token, config.peer, "POST", call, body, timeoutMs);
    if (answer.status < 200 || answer.status >= 300) throw new Error(`standby ${call}: HTTP ${answer.status}: ${answer.body.error ?? "no detail"}`);
    return answer.body;
}

/**
 * The standby's own signed account of whether it serves; `unreachable` when it
 * cannot be asked, with `answered` when something answered that is not a
 * signed yes or no (that is never read as "does not serve").
 */
export async function askStandby(config: AgentConfig): Promise<StandbyView | { unreachable: string; answered: boolean }> {
    try {
        const answer = await signedCall<Partial<StandbyView> & { error?: string }>(readSecretFile(config.tokenFile), config.peer, "GET", "/serving", undefined, ASK_TIMEOUT_MS);
        const body = answer.body;
        if (answer.status !== 200) return { unreachable: `HTTP ${answer.status}: ${body.error ?? "no detail"}`, answered: true };
        return { serving: Boolean(body.serving), activating: Boolean(body.activating), takeover: body.takeover ?? null, handback: body.handback ?? null };
    } catch (err) {
        return { unreachable: (err as Error).message, answered: !(err instanceof Unreachable) };
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
 * whole), then tells the standby its copy is merged.
 */
export async function mergeHandback(config: AgentConfig, token: string, handbackId: string): Promise<string> {
    const inbox = path.join(config.stateDir, "inbox");
    execFileSync(HOST_COMMANDS.fileSync, ["pull", "outbox", inbox], { stdio: ["ignore", "pipe", "pipe"], timeout: 600_000 });
    const manifest = JSON.parse(fs.readFileSync(path.join(inbox, MANIFEST), "utf8")) as ExportManifest;
    if (manifest.id !== handbackId) throw new Error(`the standby's outbox holds export ${manifest.id}, not ${handbackId}; run the flip again`);
    const entries = checkManifestEntries(manifest.entries, { databases: config.databases.map((db) => db.path), tenantsDir: config.tenantsDir });
    const lines = entries.map((e) => execFileSync(HOST_COMMANDS.merge, [path.join(inbox, e.file), e.live], { encoding: "utf8", timeout: 600_000 }).trim());
    writeState(config.stateDir, MERGED, { id: handbackId, at: new Date().toISOString(), lines });
    await callStandby(config, token, "/merged", { id: handbackId });
    return lines.length === 0 ? "nothing to merge" : lines.map((l) => l.replace(/^merged \S+ into /, "")).join("; ");
}

/**
 * After the standby served, its replicas hold the primary's data from before:
 * they are emptied on the standby and Litestream starts over from the primary's
 * databases as they are now, so no stale position is ever mixed in.
 */
export async function reseedReplicas(config: AgentConfig, token: string): Promise<string> {
    const wasActive = isActive(LITESTREAM_UNIT);
    if (wasActive) systemctl("stop", LITESTREAM_UNIT);
    const dbs = databasesOf(config);
    for (const db of dbs) fs.rmSync(localStateDir(db.live), { recursive: true, force: true });
    await callStandby(config, token, "/reseed", {});
    if (wasActive) systemctl("start", LITESTREAM_UNIT);
    return `${dbs.length} database(s) replicate afresh${wasActive ? "" : " (Litestream was not running here)"}`;
}

