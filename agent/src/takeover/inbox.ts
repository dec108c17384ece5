import * as fs from "node:fs";
import * as path from "node:path";
import type { AgentConfig } from "../../contract";

/** Exports pulled from the standby that are kept on the primary after their merge, the newest first. */
const KEEP = 2;

/** Where the primary pulls one export of the standby: a directory per export, so a pull that resumes finds its own files. */
export function inboxFor(config: AgentConfig, handbackId: string): string {
    return path.join(inboxRoot(config), handbackId);
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
