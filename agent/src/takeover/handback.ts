import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { AgentConfig } from "../../contract";
import { NotEnoughSpace } from "../core/disk-space";
import { readState, syncPath, writeState } from "../core/state";
import { isActive } from "../core/systemd";
import { ActivationRefused, deactivate, TimelineEntry, takeoverRecord } from "./activation";
import { ensureExportSpace, exportHandback, MANIFEST } from "./export";
import { Handback, HANDBACK, readHandback, unmergedExport } from "./handback-record";

export interface HandbackResult {
    timeline: TimelineEntry[];
    /** The export the primary is to merge, the last merged one, or null when this host never exported. */
    handback: Handback | null;
}

/**
 * The standby gives the role back: it stops and leaves a copy of its databases
 * for the primary to merge. The intent is on disk before anything stops, so a
 * run that dies halfway (a full disk, a timeout, a crash) leaves "exporting",
 * and the next run finishes that export instead of finding a standby that
 * neither serves nor has anything unmerged. A host that has not served since
 * its last export exports nothing: its databases hold nothing the primary lacks.
 */
export function handBack(config: AgentConfig): Promise<HandbackResult> {
    const next = queue.then(() => handBackNow(config));
    queue = next.catch(() => undefined);
    return next;
}

// One hand-back at a time: a second caller (the drill and a flip at once) waits, then finds the first one's record.
let queue: Promise<unknown> = Promise.resolve();

async function handBackNow(config: AgentConfig): Promise<HandbackResult> {
    const last = readHandback(config);
    if (last?.state === "exporting") return exportAndRecord(config, last);
    const servingHere = servesHere(config);
    if (!servingHere && (last?.state === "exported" || !tookOverSince(config, last))) return { timeline: await deactivate(config), handback: last };
    // Serving again with an export unmerged happens only without an activation in
    // between (activation refuses while one is unmerged), so no restore has set
    // the live databases aside: a new export holds all the old one held.
    if (servingHere) roomBeforeStopping(config);
    const intent: Handback = {
        id: crypto.randomUUID(),
        at: new Date().toISOString(),
        state: "exporting",
        takeoverAt: takeoverRecord(config)?.at ?? null,
        exported: [],
        merged: false,
    };
    writeState(config.stateDir, HANDBACK, intent);
    return exportAndRecord(config, intent);
}

/** A full disk is found while this host still serves: it goes on serving and nothing is recorded. */
function roomBeforeStopping(config: AgentConfig): void {
    try {
        ensureExportSpace(config, takeoverStart(config));
    } catch (err) {
        if (err instanceof NotEnoughSpace) throw new NotEnoughSpace(`${err.message}; this standby goes on serving, nothing was stopped`);
        throw err;
    }
}

async function exportAndRecord(config: AgentConfig, intent: Handback): Promise<HandbackResult> {
    const timeline = await deactivate(config);
    const manifest = await exportHandback(config, intent.id, takeoverStart(config));
    const files = manifest.files ?? [];
    const handback: Handback = { ...intent, state: "exported", exported: manifest.entries, fileBytes: files.reduce((sum, f) => sum + f.bytes, 0) };
    writeState(config.stateDir, HANDBACK, handback);
    return { timeline, handback };
}

/** The primary has merged this export: the standby's writes are safe there, and the outbox's copies are no longer needed. */
export function markMerged(config: AgentConfig, id: string): Handback {
    const handback = readHandback(config);
    if (!handback || handback.id !== id) throw new ActivationRefused(`no export ${id} here; the last one is ${handback?.id ?? "none"}`);
    if (handback.state === "exporting") throw new ActivationRefused(`export ${id} is not complete yet; it cannot have been merged`);
    if (handback.state === "kept") throw new ActivationRefused(`export ${id} was kept aside for a merge by hand; it is not merged this way`);
    const merged: Handback = { ...handback, state: "merged", merged: true };
    writeState(config.stateDir, HANDBACK, merged);
    if (config.fileSync?.outboxDir) fs.rmSync(config.fileSync.outboxDir, { recursive: true, force: true });
    return merged;
}

/** This host holds writes the primary has not merged: an export not merged yet, or a takeover since its last export. */
export function owesHandback(config: AgentConfig): boolean {
    return unmergedExport(config) !== null || tookOverSince(config, readHandback(config));
}

/**
 * The operator's way out when the primary cannot take an export (it is lost
 * for good): the export is finished if it was not, moved aside whole to
 * kept/<id> beside the outbox and recorded as kept, so this standby may take
 * over again. Nothing merges a kept export: it waits for a merge by hand
 * (wirebot-merge on the primary, with its manifest), and nothing removes it.
 */
export async function keepExport(config: AgentConfig): Promise<string> {
    if (config.role !== "standby") throw new ActivationRefused("keep-export is run on the standby");
    let pending = unmergedExport(config);
    if (!pending) return "no export waits for the primary: nothing to keep";
    if (pending.state === "exporting") pending = (await handBack(config)).handback!;
    const outbox = config.fileSync?.outboxDir;
    if (!outbox) throw new Error("no outbox is configured (fileSync.outboxDir)");
    const manifest = readState<{ id: string }>(outbox, MANIFEST);
    if (manifest?.id !== pending.id) throw new ActivationRefused(`the outbox holds export ${manifest?.id ?? "none"}, not ${pending.id}: nothing was moved`);
    const kept = path.join(keptDirOf(outbox), pending.id);
    fs.mkdirSync(path.dirname(kept), { recursive: true });
    fs.renameSync(outbox, kept);
    syncPath(path.dirname(kept));
    syncPath(path.dirname(outbox));
    writeState(config.stateDir, HANDBACK, { ...pending, state: "kept" });
    return `export ${pending.id} is kept in ${kept} (its manifest names the live database of each copy) for a merge by hand; this standby may take over again`;
}

/** Where keep-export sets exports aside: kept/<export id> beside the outbox. */
export function keptDirOf(outbox: string): string {
    return path.join(path.dirname(outbox), "kept");
}

/** The exports set aside with keep-export, each waiting for a merge by hand (nothing removes them). */
export function keptExports(config: AgentConfig): { id: string; path: string }[] {
    const outbox = config.fileSync?.outboxDir;
    if (!outbox) return [];
    const dir = keptDirOf(outbox);
    if (!fs.existsSync(dir)) return [];
    return fs
        .readdirSync(dir, { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => ({ id: e.name, path: path.join(dir, e.name) }))
        .sort((a, b) => a.id.localeCompare(b.id));
}

/** When the takeover this export hands back began: the files written since are this host's. None without a takeover record. */
function takeoverStart(config: AgentConfig): string | null {
    const takeover = takeoverRecord(config);
    if (!takeover) return null;
    if (takeover.startedAt) return takeover.startedAt;
    // Records from before startedAt: the end, less the steps it took.
    return new Date(Date.parse(takeover.at) - takeover.timeline.reduce((sum, t) => sum + t.ms, 0)).toISOString();
}

function servesHere(config: AgentConfig): boolean {
    return isActive(config.units.connector) || config.units.services.some(isActive);
}

/** This host took over after its last export: what it wrote since is not on the primary. */
function tookOverSince(config: AgentConfig, last: Handback | null): boolean {
    const takeover = takeoverRecord(config);
    if (!takeover) return false;
    if (!last) return true;
    if (last.takeoverAt !== undefined) return takeover.at !== last.takeoverAt;
    return takeover.at > last.at;
}
