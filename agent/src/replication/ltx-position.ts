import * as fs from "node:fs";
import * as path from "node:path";

// Litestream (0.5) keeps a database's changes as LTX files named
// <min txid>-<max txid>.ltx (16 hex digits each) under <root>/ltx/<level>/,
// both next to the live database (.<name>-litestream) and in the replica.
const LTX_NAME = /^[0-9a-f]{16}-([0-9a-f]{16})\.ltx$/;

interface LtxFile {
    maxTxid: bigint;
    mtimeMs: number;
}

function ltxFiles(root: string): LtxFile[] {
    const found: LtxFile[] = [];
    let levels: string[] = [];
    try {
        levels = fs.readdirSync(path.join(root, "ltx"));
    } catch {
        return found;
    }
    for (const level of levels) {
        const dir = path.join(root, "ltx", level);
        let names: string[] = [];
        try {
            names = fs.readdirSync(dir);
        } catch {
            continue;
        }
        for (const name of names) {
            const match = LTX_NAME.exec(name);
            if (!match) continue;
            try {
                found.push({ maxTxid: BigInt(`0x${match[1]}`), mtimeMs: fs.statSync(path.join(dir, name)).mtimeMs });
            } catch {
                // Compaction removed it between the listing and the stat.
            }
        }
    }
    return found;
}

/** The last transaction a replica (or the local Litestream state) holds, as hex; null when there is none yet. */
export function position(root: string): string | null {
    const files = ltxFiles(root);
    if (files.length === 0) return null;
    return files.reduce((max, f) => (f.maxTxid > max ? f.maxTxid : max), 0n).toString(16).padStart(16, "0");
}

/** Where Litestream keeps a live database's own LTX files. */
export function localStateDir(live: string): string {
    return path.join(path.dirname(live), `.${path.basename(live)}-litestream`);
}

/**
 * Replication lag of one database in seconds, as of `asOfMs` (when the replica's
 * position was reported): 0 when the replica held every local transaction
 * written by then, otherwise how long the oldest one it lacked had waited.
 * Transactions written after the report are not counted against it. Null when
 * either side has nothing to compare yet.
 */
export function lagSeconds(live: string, replicaPosition: string | null | undefined, asOfMs: number): number | null {
    const local = ltxFiles(localStateDir(live));
    if (local.length === 0 || replicaPosition === null || replicaPosition === undefined) return null;
    const replica = BigInt(`0x${replicaPosition}`);
    const missing = local.filter((f) => f.maxTxid > replica && f.mtimeMs <= asOfMs);
    if (missing.length === 0) return 0;
    return Math.max(0, (asOfMs - Math.min(...missing.map((f) => f.mtimeMs))) / 1000);
}
