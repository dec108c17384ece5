import * as fs from "node:fs";
import * as path from "node:path";

/**
 * Writes through a temporary file that is flushed to disk, renamed over the old
 * one, then the directory flushed: a reader never sees half a file, and once
 * this returns the new content survives a crash or a power cut. Records of
 * intent (an export under way, a reseed owed) are only worth writing if a
 * re-run after a crash finds them.
 */
export function writeState(dir: string, name: string, value: unknown): void {
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, name);
    const tmp = `${file}.${process.pid}.tmp`;
    writeDurably(tmp, JSON.stringify(value, null, 2) + "\n");
    fs.renameSync(tmp, file);
    syncPath(dir);
}

export function readState<T>(dir: string, name: string): T | null {
    try {
        return JSON.parse(fs.readFileSync(path.join(dir, name), "utf8")) as T;
    } catch {
        return null;
    }
}

/** Removes a state file for good: the directory is flushed, so it does not come back after a crash. */
export function removeState(dir: string, name: string): void {
    fs.rmSync(path.join(dir, name), { force: true });
    if (fs.existsSync(dir)) syncPath(dir);
}

export function writeDurably(file: string, content: string): void {
    const fd = fs.openSync(file, "w", 0o644);
    try {
        fs.writeSync(fd, content);
        fs.fsyncSync(fd);
    } finally {
        fs.closeSync(fd);
    }
}

/** Flushes a file's data, or a directory's entries (a rename or a new file in it), to disk. */
export function syncPath(target: string): void {
    const fd = fs.openSync(target, "r");
    try {
        fs.fsyncSync(fd);
    } finally {
        fs.closeSync(fd);
    }
}
