import * as crypto from "node:crypto";
import * as fs from "node:fs";
import type { AgentConfig } from "../../contract";
import { writeState } from "../core/state";
import { isActive } from "../core/systemd";
import { ActivationRefused, deactivate, TimelineEntry, takeoverRecord } from "./activation";
import { exportHandback } from "./export";
import { Handback, HANDBACK, readHandback } from "./handback-record";

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

async function exportAndRecord(config: AgentConfig, intent: Handback): Promise<HandbackResult> {
    const timeline = await deactivate(config);
    const manifest = exportHandback(config, intent.id, takeoverStart(config));
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
    const merged: Handback = { ...handback, state: "merged", merged: true };
    writeState(config.stateDir, HANDBACK, merged);
    if (config.fileSync?.outboxDir) fs.rmSync(config.fileSync.outboxDir, { recursive: true, force: true });
    return merged;
}

/** This host holds writes the primary has not merged: an export not merged yet, or a takeover since its last export. */
export function owesHandback(config: AgentConfig): boolean {
    const last = readHandback(config);
    return (last !== null && last.state !== "merged") || tookOverSince(config, last);
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
