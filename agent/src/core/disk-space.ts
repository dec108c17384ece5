import * as fs from "node:fs";
import * as path from "node:path";

/** Room a filesystem keeps beyond what is written to it: the databases' WAL, logs, the services' own writes. */
export const SPACE_MARGIN_BYTES = 64 * 1024 * 1024;

export class NotEnoughSpace extends Error {}

/**
 * Refuses before `bytes` are written under `dir` when its filesystem lacks
 * them plus the margin: a copy that fills the disk half way fails anyway, and
 * takes the room the services need with it.
 */
export function ensureSpace(dir: string, bytes: number, what: string): void {
    const stats = fs.statfsSync(nearestExisting(dir));
    const free = stats.bavail * stats.bsize;
    const need = bytes + SPACE_MARGIN_BYTES;
    if (free >= need) return;
    throw new NotEnoughSpace(
        `not enough space in ${dir} for ${what}: need ${mib(need)} MiB (${mib(bytes)} MiB plus a ${mib(SPACE_MARGIN_BYTES)} MiB margin), free ${mib(free)} MiB; free some and run it again`,
    );
}

/** A file's size with its WAL: what a consistent copy of the database can take at most. */
export function sizeWithWal(file: string): number {
    return [file, `${file}-wal`].reduce((sum, f) => sum + (fs.existsSync(f) ? fs.statSync(f).size : 0), 0);
}

function nearestExisting(dir: string): string {
    let at = path.resolve(dir);
    while (!fs.existsSync(at)) at = path.dirname(at);
    return at;
}

const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
