import * as fs from "node:fs";
import * as path from "node:path";
import type { AgentConfig } from "../../contract";
import { ensureSpace, sizeWithWal } from "../core/disk-space";
import { syncPath, writeDurably } from "../core/state";
import { commandParallelism, mapBounded } from "../core/bounded";
import { runCommand } from "../core/command";
import { Database, databasesOf } from "../replication/databases";
import { changedFiles, copyFiles, FileEntry } from "./file-handback";

export const MANIFEST = "manifest.json";

export interface ExportEntry {
    file: string;
    live: string;
    /** Size of the copy: what the primary needs free before it pulls the export. */
    bytes?: number;
}

const BACKUP_TIMEOUT_MS = 120_000;

/** The outbox's manifest: which export this is (the primary names it when it merges), and what it holds. */
export interface ExportManifest {
    id: string;
    at: string;
    entries: ExportEntry[];
    /** The hub's files the standby wrote while it served (absent in exports made before files were handed back). */
    files?: FileEntry[];
}

/**
 * After the standby served: a consistent copy (sqlite3 .backup) of each of its
 * live databases in the outbox, with a manifest naming the live path each belongs
 * to, and the hub's files it wrote since `since` (its takeover began), owned by
 * the sync user so the primary can pull them over its sync key. Built beside the
 * outbox, flushed to disk and renamed into place, so the outbox holds a whole
 * export or none.
 */
export async function exportHandback(config: AgentConfig, id: string, since: string | null): Promise<ExportManifest> {
    const outbox = outboxOf(config);
    const partial = `${outbox}.partial`;
    fs.rmSync(partial, { recursive: true, force: true });
    const { dbs, files } = ensureExportSpace(config, since);
    fs.mkdirSync(partial, { recursive: true, mode: 0o700 });
    // Copied side by side, without blocking the agent, which goes on answering meanwhile.
    const entries = await mapBounded(dbs.map((db, i) => ({ db, file: `${i}-${path.basename(db.live)}` })), commandParallelism(), async ({ db, file }): Promise<ExportEntry> => {
        const copy = path.join(partial, file);
        await runCommand("sqlite3", [db.live, `.backup '${copy}'`], "", BACKUP_TIMEOUT_MS);
        syncPath(copy);
        return { file, live: db.live, bytes: fs.statSync(copy).size };
    });
    copyFiles(files, partial);
    const manifest: ExportManifest = { id, at: new Date().toISOString(), entries, files };
    writeDurably(path.join(partial, MANIFEST), JSON.stringify(manifest, null, 2) + "\n");
    const owner = fs.statSync(path.dirname(outbox));
    chownTree(partial, owner.uid, owner.gid);
    syncPath(partial);
    fs.rmSync(outbox, { recursive: true, force: true });
    fs.renameSync(partial, outbox);
    syncPath(path.dirname(outbox));
    return manifest;
}

/**
 * Refuses an export the outbox's filesystem has no room for. Checked once
 * before the standby stops, so a full disk leaves it serving with nothing
 * changed, and again right before the copy, when the databases have their
 * final size.
 */
export function ensureExportSpace(config: AgentConfig, since: string | null): { dbs: Database[]; files: FileEntry[] } {
    const dbs = databasesOf(config).filter((db) => fs.existsSync(db.live));
    const files = changedFiles(config, since);
    const bytes = dbs.reduce((sum, db) => sum + sizeWithWal(db.live), 0) + files.reduce((sum, f) => sum + f.bytes, 0);
    ensureSpace(path.dirname(outboxOf(config)), bytes, "the copy of this standby's databases and files");
    return { dbs, files };
}

function outboxOf(config: AgentConfig): string {
    const outbox = config.fileSync?.outboxDir;
    if (!outbox) throw new Error("no outbox is configured (fileSync.outboxDir)");
    return outbox;
}

function chownTree(target: string, uid: number, gid: number): void {
    fs.chownSync(target, uid, gid);
    if (fs.lstatSync(target).isDirectory()) for (const name of fs.readdirSync(target)) chownTree(path.join(target, name), uid, gid);
}
