import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { AgentConfig } from "../../contract";
import { syncPath } from "../core/state";

/** Where an export keeps the hub's files, under their absolute paths. */
export const FILES_DIR = "files";

/** A file the standby wrote while it served, as the export carries it. */
export interface FileEntry {
    /** Its live path, the same on both hosts. */
    path: string;
    sha256: string;
    /** The primary's copy when the standby took over (its staging copy), or null when the primary had none. */
    base: string | null;
    bytes: number;
    mode: number;
}

/** Paths under /run hold a running service's state (pid files, locks): the primary's own services make theirs. */
export const VOLATILE = "/run/";

/**
 * The hub's files the standby wrote while it served: regular files under the
 * synced paths modified since the takeover whose content differs from the
 * primary's copy in staging. A file older than the takeover that differs is a
 * leftover of an earlier takeover, not a write to hand back. Deletions are not
 * handed back.
 */
export function changedFiles(config: AgentConfig, since: string | null): FileEntry[] {
    const sync = config.fileSync;
    if (!sync || since === null) return [];
    const sinceMs = Date.parse(since);
    const found: FileEntry[] = [];
    for (const root of sync.paths.filter((p) => !`${p}/`.startsWith(VOLATILE))) {
        for (const file of regularFiles(root)) {
            const stat = fs.statSync(file);
            if (stat.mtimeMs < sinceMs) continue;
            const staged = path.join(sync.stagingDir, file);
            const base = fs.existsSync(staged) ? sha256(staged) : null;
            const hash = sha256(file);
            if (hash !== base) found.push({ path: file, sha256: hash, base, bytes: stat.size, mode: stat.mode & 0o7777 });
        }
    }
    return found;
}

/** Copies the changed files into an export being built, flushed to disk. */
export function copyFiles(entries: FileEntry[], exportDir: string): void {
    for (const entry of entries) {
        const copy = path.join(exportDir, FILES_DIR, entry.path);
        fs.mkdirSync(path.dirname(copy), { recursive: true });
        fs.copyFileSync(entry.path, copy);
        syncPath(copy);
    }
}

/**
 * On the primary: each file the standby wrote takes the live path when the
 * primary's copy is still the one the standby started from (or the same
 * already). A file changed on both sides keeps the primary's copy and gets the
 * standby's beside it, `<path>.from-standby-<export>`: nothing is lost, and
 * the summary names it.
 */
export function mergeFiles(entries: FileEntry[], pulledDir: string, handbackId: string): string {
    let taken = 0;
    let same = 0;
    const both: string[] = [];
    for (const entry of entries) {
        const current = fs.existsSync(entry.path) ? sha256(entry.path) : null;
        if (current === entry.sha256) {
            same++;
            continue;
        }
        const pulled = path.join(pulledDir, FILES_DIR, entry.path);
        if (current === entry.base) {
            install(pulled, entry.path, entry.mode);
            taken++;
        } else {
            install(pulled, `${entry.path}.from-standby-${handbackId.slice(0, 8)}`, entry.mode);
            both.push(entry.path);
        }
    }
    if (entries.length === 0) return "no files written on the standby";
    const conflicts = both.length ? `, ${both.length} changed on both sides (kept here, the standby's beside each as .from-standby-${handbackId.slice(0, 8)}: ${both.join(", ")})` : "";
    return `files: ${taken} taken from the standby, ${same} already the same${conflicts}`;
}

/** Puts a file in place whole (a copy beside it, renamed over), owned like what it replaces or else like its directory. */
function install(source: string, target: string, mode: number): void {
    const dir = path.dirname(target);
    makeDirs(dir);
    const owner = fs.statSync(fs.existsSync(target) ? target : dir);
    const tmp = `${target}.handback.tmp`;
    fs.copyFileSync(source, tmp);
    fs.chmodSync(tmp, mode);
    fs.chownSync(tmp, owner.uid, owner.gid);
    syncPath(tmp);
    fs.renameSync(tmp, target);
    syncPath(dir);
}

/** Creates missing directories owned like the nearest one that exists. */
function makeDirs(dir: string): void {
    if (fs.existsSync(dir)) return;
    makeDirs(path.dirname(dir));
    const parent = fs.statSync(path.dirname(dir));
    fs.mkdirSync(dir, { mode: parent.mode & 0o7777 });
    fs.chownSync(dir, parent.uid, parent.gid);
}

function regularFiles(root: string): string[] {
    let stat: fs.Stats;
    try {
        stat = fs.lstatSync(root);
    } catch {
        return [];
    }
    if (stat.isFile()) return [root];
    if (!stat.isDirectory()) return [];
    return fs.readdirSync(root).flatMap((name) => regularFiles(path.join(root, name)));
}

export function sha256(file: string): string {
    return crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}
