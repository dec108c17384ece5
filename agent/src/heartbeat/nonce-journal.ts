import * as fs from "node:fs";
import * as path from "node:path";

/**
 * The nonces of signed requests this agent took, each kept until a request
 * carrying it would be refused for its age anyway. Every nonce is on disk
 * (appended and fsynced) before the request it came with is acted on, and the
 * journal is read back at start, so a restart does not make a captured request
 * usable again. A nonce that cannot be recorded refuses its request.
 */
export class NonceJournal {
    private readonly seen = new Map<string, number>();
    private lines = 0;

    constructor(private readonly file: string, nowMs: number) {
        let text = "";
        try {
            text = fs.readFileSync(file, "utf8");
        } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
        }
        for (const line of text.split("\n")) {
            const [expires, nonce] = line.split(" ");
            const at = Number(expires);
            if (nonce && Number.isFinite(at) && at > nowMs) this.seen.set(nonce, Math.max(at, this.seen.get(nonce) ?? 0));
        }
        this.lines = this.seen.size;
        this.rewrite();
    }

    /** True the first time a nonce is offered (it is then on disk until expiresMs); false for a nonce seen before. */
    firstUse(nonce: string, expiresMs: number, nowMs: number): boolean {
        for (const [n, at] of this.seen) if (at <= nowMs) this.seen.delete(n);
        if (this.seen.has(nonce)) return false;
        this.append(`${expiresMs} ${nonce}\n`);
        this.seen.set(nonce, expiresMs);
        // Expired lines are dropped once they outnumber the live ones.
        if (this.lines > 64 && this.lines > 2 * this.seen.size) this.rewrite();
        return true;
    }

    private append(line: string): void {
        const fd = fs.openSync(this.file, "a", 0o600);
        try {
            fs.writeSync(fd, line);
            fs.fsyncSync(fd);
        } finally {
            fs.closeSync(fd);
        }
        this.lines += 1;
    }

    /** Through a temporary file, fsynced, renamed and the rename fsynced: a crash leaves the old journal or the new one. */
    private rewrite(): void {
        fs.mkdirSync(path.dirname(this.file), { recursive: true });
        const tmp = `${this.file}.${process.pid}.tmp`;
        const fd = fs.openSync(tmp, "w", 0o600);
        try {
            fs.writeSync(fd, [...this.seen].map(([n, at]) => `${at} ${n}\n`).join(""));
            fs.fsyncSync(fd);
        } finally {
            fs.closeSync(fd);
        }
        fs.renameSync(tmp, this.file);
        const dir = fs.openSync(path.dirname(this.file), "r");
        try {
            fs.fsyncSync(dir);
        } finally {
            fs.closeSync(dir);
        }
        this.lines = this.seen.size;
    }
}
