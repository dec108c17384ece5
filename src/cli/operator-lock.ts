import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

// One flip at a time per project directory. Pulumi's own lock covers a single
// `pulumi up`; a flip is config changes and two ups, and a second command that
// slipped in between would read or write the config half-way. The lock file
// names who holds it; a holder whose process is gone (on this machine) is
// cleared.

export const LOCK_FILE = ".wirebot-ops.lock";

export interface LockHolder {
    command: string;
    pid: number;
    user: string;
    host: string;
    startedAt: string;
}

export class OperatorLocked extends Error {
    constructor(
        readonly holder: LockHolder,
        readonly file: string,
    ) {
        super(`another wirebot-ops ${holder.command} is running in this project`);
    }
}

export function describeHolder(h: LockHolder, nowMs = Date.now()): string {
    const age = Math.round((nowMs - Date.parse(h.startedAt)) / 1000);
    return `wirebot-ops ${h.command} by ${h.user}@${h.host}, process ${h.pid}, started ${h.startedAt} (${age} s ago)`;
}

function alive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch (err) {
        return (err as NodeJS.ErrnoException).code === "EPERM";
    }
}

export function readHolder(dir: string): LockHolder | undefined {
    try {
        return JSON.parse(fs.readFileSync(path.join(dir, LOCK_FILE), "utf8")) as LockHolder;
    } catch {
        return undefined;
    }
}

/** The holder, if a live process holds the lock. */
export function currentHolder(dir: string): LockHolder | undefined {
    const holder = readHolder(dir);
    if (!holder) return undefined;
    if (holder.host === os.hostname() && !alive(holder.pid)) return undefined;
    return holder;
}

/** Takes the project's lock for a command; returns its release. Throws OperatorLocked naming the holder. */
export function acquireLock(dir: string, command: string): () => void {
    const file = path.join(dir, LOCK_FILE);
    const me: LockHolder = { command, pid: process.pid, user: os.userInfo().username, host: os.hostname(), startedAt: new Date().toISOString() };
    for (let attempt = 0; attempt < 2; attempt++) {
        try {
            fs.writeFileSync(file, JSON.stringify(me) + "\n", { flag: "wx", mode: 0o644 });
            return () => {
                const holder = readHolder(dir);
                if (holder?.pid === me.pid && holder.startedAt === me.startedAt) fs.rmSync(file, { force: true });
            };
        } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
        }
        const holder = currentHolder(dir);
        if (holder) throw new OperatorLocked(holder, file);
        // Left by a process that is gone: clear it and try once more.
        fs.rmSync(file, { force: true });
    }
    throw new OperatorLocked(readHolder(dir) ?? me, file);
}
