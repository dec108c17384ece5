import { execFileSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { AgentConfig } from "../../contract";
import { databasesOf } from "../replication/databases";

export const MANIFEST = "manifest.json";

export interface ExportEntry {
    file: string;
    live: string;
}

/** The outbox's manifest: which export this is (the primary names it when it merges), and what it holds. */
export interface ExportManifest {
    id: string;
    at: string;
    entries: ExportEntry[];
}

/**
 * After the standby served: a consistent copy (sqlite3 .backup) of each of its
 * live databases in the outbox, with a manifest naming the live path each belongs
 * to, owned by the sync user so the primary can pull them over its sync key.
 */
export function exportDatabases(config: AgentConfig): ExportManifest {
    const outbox = config.fileSync?.outboxDir;
    if (!outbox) throw new Error("no outbox is configured (fileSync.outboxDir)");
    fs.rmSync(outbox, { recursive: true, force: true });
    fs.mkdirSync(outbox, { recursive: true, mode: 0o700 });
    const entries: ExportEntry[] = [];
    for (const db of databasesOf(config)) {
        if (!fs.existsSync(db.live)) continue;
        const file = `${entries.length}-${path.basename(db.live)}`;
        execFileSync("sqlite3", [db.live, `.backup '${path.join(outbox, file)}'`], { timeout: 120_000 });
        entries.push({ file, live: db.live });
    }
    const manifest: ExportManifest = { id: crypto.randomUUID(), at: new Date().toISOString(), entries };
    fs.writeFileSync(path.join(outbox, MANIFEST), JSON.stringify(manifest, null, 2) + "\n");
    const owner = fs.statSync(path.dirname(outbox));
    for (const name of [".", ...fs.readdirSync(outbox)]) fs.chownSync(path.join(outbox, name), owner.uid, owner.gid);
    return manifest;
}
