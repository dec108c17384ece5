import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { AgentConfig } from "../../contract";
import { TreeWatcher } from "./file-watch";
import { log } from "../core/log";
import { readState } from "../core/state";
import { SyncScheduler } from "./sync-scheduler";

export const FILE_SYNC_UNIT = "wirebot-file-sync.service";
export const FILE_SYNC_STATE = "file-sync.json";

const run = promisify(execFile);

export interface FileSyncRecord {
    at: string;
    ok: boolean;
    ms: number;
    paths: number;
    reason?: string;
}

export function lastFileSync(config: AgentConfig): FileSyncRecord | null {
    return readState<FileSyncRecord>(config.stateDir, FILE_SYNC_STATE);
}

/** One sync is one run of the file-sync unit, so a sync started here and one started by its timer never overlap. */
async function syncOnce(config: AgentConfig, why: string): Promise<void> {
    try {
        await run("systemctl", ["start", FILE_SYNC_UNIT], { timeout: 11 * 60_000 });
    } catch (err) {
        const record = lastFileSync(config);
        log(`file sync (${why}) failed: ${record?.reason ?? (err as Error).message.split("\n")[0]}`);
        throw err;
    }
}

export interface FileSync {
    scheduler: SyncScheduler;
    watcher: TreeWatcher;
}

/** Watches the synced paths and runs the file-sync unit a debounce after each burst of changes. */
export function startFileSync(config: AgentConfig): FileSync | null {
    const settings = config.fileSync;
    if (!settings || settings.paths.length === 0) return null;
    let why = "change";
    const scheduler = new SyncScheduler(settings.debounceSeconds * 1000, () => syncOnce(config, why));
    const watcher = new TreeWatcher(
        settings.paths,
        () => {
            why = "change";
            scheduler.changed();
        },
        (message) => log(`file watch: ${message}`),
    );
    watcher.start();
    log(`file sync: watching ${settings.paths.length} path(s) in ${watcher.watchedDirectories} directories; sync ${settings.debounceSeconds}s after a change`);
    return { scheduler, watcher };
}
