import * as fs from "node:fs";
import * as path from "node:path";
import type { AgentConfig } from "../../contract";

/** Exports pulled from the standby that are kept on the primary after their merge, the newest first. */
const KEEP = 2;

/**
 * The inbox holds copies of the hub's databases and files as the standby
 * served them: root's alone. Its directories are 0700 and its files 0600, made
 * so from the start (mkdir with the mode, and the pull writes 0600 files, see
 * wirebot-file-sync), never opened up and closed again afterwards.
 */
const DIR_MODE = 0o700;
const FILE_MODE = 0o600;

/**
 * Where the primary pulls one export of the standby: a directory per export,
 * so a pull that resumes finds its own files. It exists, root-only, when this
 * returns, and an inbox left open by an earlier version is closed first.
 */
export function inboxFor(config: AgentConfig, handbackId: string): string {
    const root = inboxRoot(config);
    restrictInbox(config);
    const dir = path.join(root, handbackId);
    privateDir(dir);
    return dir;
}

/**
 * Makes the inbox root-only: created 0700 when missing; when it exists, its
 * directories become 0700 and its files 0600 (the primary's inbox was 0755
 * with 0644 files before). Links are left as they are and never followed.
 */
export function restrictInbox(config: AgentConfig): void {
    const root = inboxRoot(config);
    privateDir(root);
    restrictTree(root);
}

/** Keeps the newest merged exports, removes older ones (and files of the single-directory layout that came before). */
export function pruneInbox(config: AgentConfig): void {
    const root = inboxRoot(config);
    const entries = fs.readdirSync(root, { withFileTypes: true }).map((e) => ({ entry: e, full: path.join(root, e.name) }));
    for (const { full } of entries.filter((e) => !e.entry.isDirectory())) fs.rmSync(full, { force: true });
    const exports = entries.filter((e) => e.entry.isDirectory()).sort((a, b) => fs.statSync(b.full).mtimeMs - fs.statSync(a.full).mtimeMs);
    for (const { full } of exports.slice(KEEP)) fs.rmSync(full, { recursive: true, force: true });
}

const inboxRoot = (config: AgentConfig) => path.join(config.stateDir, "inbox");

/** A directory made 0700 whatever the umask (mkdir's mode can only be narrowed by it), or an existing one closed to 0700. */
function privateDir(dir: string): void {
    fs.mkdirSync(path.dirname(dir), { recursive: true });
    try {
        fs.mkdirSync(dir, { mode: DIR_MODE });
    } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const stat = fs.lstatSync(dir);
    if (!stat.isDirectory()) throw new Error(`${dir} is not a directory`);
    if ((stat.mode & 0o7777) !== DIR_MODE) fs.chmodSync(dir, DIR_MODE);
}

function restrictTree(dir: string): void {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) {
            fs.chmodSync(full, DIR_MODE);
            restrictTree(full);
        } else if (entry.isFile()) {
            fs.chmodSync(full, FILE_MODE);
        }
    }
}
