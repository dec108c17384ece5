import * as fs from "node:fs";
import * as path from "node:path";
import { Answer, signedCall, Unreachable, UntrustedAnswer } from "../heartbeat/signed-call";
import { readSecretFile } from "../core/config";
import { type AgentConfig, HOST_COMMANDS } from "../../contract";
import { databasesOf, durableFingerprint } from "../replication/databases";
import { ExportManifest, MANIFEST } from "./export";
import type { Handback } from "./handback-record";
import { checkExportId, checkManifestEntries, checkManifestFiles, checkPulled } from "./manifest-check";
import { localStateDir, position } from "../replication/ltx-position";
import { Deadline } from "../core/deadline";
import { ensureSpace } from "../core/disk-space";
import { FILES_DIR, mergeFiles, sha256 } from "./file-handback";
import { inboxFor, pruneInbox } from "./inbox";
import { writeState } from "../core/state";
import { fewNamed } from "../core/few-named";
import { commandParallelism, mapBounded } from "../core/bounded";

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
    let answer: Answer<{ error?: string }>;
    try {
        answer = await signedCall<{ error?: string }>(token, config.peer, "POST", call, body, timeoutMs);
    } catch (err) {
        // No answer, or none to trust: the error keeps its kind (a timeout stays one for the flip's deadline), with the call named.
        if (err instanceof Unreachable || err instanceof UntrustedAnswer) err.message = `standby ${call}: ${err.message}`;
        throw err;
    }
    if (answer.status < 200 || answer.status >= 300) throw new StandbyRefused(`standby ${call}: HTTP ${answer.status}: ${answer.body.error ?? "no detail"}`);
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

/** Why the standby gave no account of itself: it could not be asked, or what answered is not to be trusted. */
export function describeUnheard(standby: { unreachable: string; answered: boolean }): string {
    return standby.answered ? `the standby's answer to "do you serve?" cannot be trusted (${standby.unreachable})` : `the standby cannot be asked (${standby.unreachable})`;
}

/** Fingerprints of every live database, taken once writes have stopped: what the standby must hold before it serves. */
export async function fingerprints(config: AgentConfig): Promise<Record<string, string | null>> {
    const lives = databasesOf(config).map((db) => db.live);
    const prints = await mapBounded(lives, commandParallelism(), durableFingerprint);
    return Object.fromEntries(lives.map((live, i) => [live, prints[i]]));
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
    const handbackId = checkExportId(handback.id);
    const inbox = inboxFor(config, handbackId);
    const bytes = handback.exported.reduce((sum, e) => sum + (e.bytes ?? 0), 0) + (handback.fileBytes ?? 0);
    ensureSpace(inbox, bytes, `the pull of the standby's export ${handbackId}`);
    const pullStarted = Date.now();
    deadline.run("the pull of the standby's export", COMMAND_LIMIT_MS, HOST_COMMANDS.fileSync, ["pull", "outbox", inbox], { stdio: ["ignore", "pipe", "pipe"] });
    const pulledMs = Date.now() - pullStarted;
    const manifest = JSON.parse(fs.readFileSync(path.join(inbox, MANIFEST), "utf8")) as ExportManifest;
    if (manifest.id !== handbackId) throw new Error(`the standby's outbox holds export ${manifest.id}, not ${handbackId}; run the flip again`);
    // The manifest comes from the other host: every copy must be a plain file in the inbox and go only where this host's config allows.
    const entries = checkManifestEntries(manifest.entries, { databases: config.databases.map((db) => db.path), tenantsDir: config.tenantsDir });
    const fileEntries = checkManifestFiles(manifest.files, config.fileSync?.paths ?? []);
    checkPulled(inbox, entries, fileEntries, FILES_DIR, sha256);
    const mergeStarted = Date.now();
    // Each copy goes into a database of its own: they are merged side by side.
    const lines = (await mapBounded(entries, commandParallelism(), (e) => deadline.runAsync(`the merge of ${e.live}`, COMMAND_LIMIT_MS, HOST_COMMANDS.merge, [path.join(inbox, e.file), e.live]))).map((l) => l.trim());
    const mergedMs = Date.now() - mergeStarted;
    const files = mergeFiles(fileEntries, inbox, handbackId);
    writeState(config.stateDir, MERGED, { id: handbackId, at: new Date().toISOString(), lines, files });
    pruneInbox(config);
    await deadline.within("telling the standby its export is merged", STANDBY_CALL_TIMEOUT_MS, (ms) => callStandby(config, token, "/merged", { id: handbackId }, ms));
    const databases = lines.length === 0 ? "nothing to merge" : fewNamed(lines.map((l) => l.replace(/^merged \S+ into /, "")), "; ");
    return `${databases}; ${files}; pulled in ${pulledMs} ms, merged in ${mergedMs} ms`;
}
