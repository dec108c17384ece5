import * as fs from "node:fs";
import * as path from "node:path";

/** Writes through a temporary file and a rename, so a reader never sees half a file. */
export function writeState(dir: string, name: string, value: unknown): void {
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, name);
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(value, null, 2) + "\n");
    fs.renameSync(tmp, file);
}

export function readState<T>(dir: string, name: string): T | null {
    try {
        return JSON.parse(fs.readFileSync(path.join(dir, name), "utf8")) as T;
    } catch {
        return null;
    }
}
