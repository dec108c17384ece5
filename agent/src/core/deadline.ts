import { execFileSync, ExecFileSyncOptions } from "node:child_process";
import { FLIP_BUDGET_ENV } from "../../contract";
import { runCommand } from "./command";

export class OutOfTime extends Error {}

/**
 * The time a command may still take. The serving step that runs a flip is
 * killed at its own limit (wirebot:remoteTimeoutSeconds) and tells it its share
 * in WIREBOT_FLIP_BUDGET_SECONDS, so every wait inside the flip ends before the
 * step is killed, with a message that names the limit; the next run resumes.
 * Without a budget (an operator's command, the drill) each wait keeps its own limit.
 */
export class Deadline {
    private constructor(
        private readonly endsAt: number,
        private readonly budgetSeconds: number | null,
        private readonly clock: () => number,
    ) {}

    static unbounded(): Deadline {
        return new Deadline(Infinity, null, Date.now);
    }

    static fromEnvironment(env: NodeJS.ProcessEnv = process.env, clock: () => number = Date.now): Deadline {
        const raw = env[FLIP_BUDGET_ENV];
        if (raw === undefined || raw === "") return Deadline.unbounded();
        const seconds = Number(raw);
        if (!Number.isFinite(seconds) || seconds <= 0) throw new Error(`${FLIP_BUDGET_ENV}=${raw}: expected a number of seconds`);
        return new Deadline(clock() + seconds * 1000, seconds, clock);
    }

    /** The limit of one wait: its own, or what is left of the budget when that is shorter. */
    limitMs(what: string, ownMs: number): number {
        const left = this.endsAt - this.clock();
        if (left <= 0) throw new OutOfTime(`${what} was not started: ${this.describe()} is used up; ${ADVICE}`);
        return Math.min(ownMs, left);
    }

    /** Runs a wait bounded by `limitMs`; a timeout comes back as OutOfTime naming the limit that struck. */
    async within<T>(what: string, ownMs: number, run: (timeoutMs: number) => T | Promise<T>): Promise<T> {
        const limit = this.limitMs(what, ownMs);
        try {
            return await run(limit);
        } catch (err) {
            if (isTimeout(err)) throw this.timedOut(what, limit, ownMs);
            throw err;
        }
    }

    /**
     * Runs a host command under coreutils timeout, which signals its whole
     * process group (the rsync and ssh of a pull, the sqlite3 of a merge), so
     * the limit holds even for what the command started.
     */
    run(what: string, ownMs: number, file: string, args: string[], options: ExecFileSyncOptions = {}): string {
        const seconds = this.commandSeconds(what, ownMs);
        try {
            return execFileSync("timeout", timeoutArgs(seconds, file, args), { encoding: "utf8", ...options, timeout: (seconds + 15) * 1000 }).toString();
        } catch (err) {
            throw this.commandFailure(err, what, seconds, ownMs);
        }
    }

    /** The same as run, without blocking the event loop: for commands run many at once. */
    async runAsync(what: string, ownMs: number, file: string, args: string[]): Promise<string> {
        const seconds = this.commandSeconds(what, ownMs);
        try {
            return await runCommand("timeout", timeoutArgs(seconds, file, args), "", (seconds + 15) * 1000);
        } catch (err) {
            throw this.commandFailure(err, what, seconds, ownMs);
        }
    }

    private commandSeconds(what: string, ownMs: number): number {
        return Math.max(1, Math.floor(this.limitMs(what, ownMs) / 1000));
    }

    private commandFailure(err: unknown, what: string, seconds: number, ownMs: number): unknown {
        const e = err as { status?: number; code?: unknown; killed?: boolean };
        if (isTimeout(err) || e.status === 124 || e.code === 124 || e.killed) return this.timedOut(what, seconds * 1000, ownMs);
        // The failure is the command's own: name it, not the wrapper.
        if (err instanceof Error) err.message = err.message.replace(/^Command failed: timeout -k 5 \d+s /, "Command failed: ");
        return err;
    }

    private timedOut(what: string, limitMs: number, ownMs: number): OutOfTime {
        const seconds = Math.round(limitMs / 100) / 10;
        if (limitMs >= ownMs) return new OutOfTime(`${what} did not finish within its limit of ${seconds} s`);
        return new OutOfTime(`${what} did not finish within the ${seconds} s left of ${this.describe()}; ${ADVICE}`);
    }

    private describe(): string {
        return `the flip's budget of ${this.budgetSeconds} s (its share of the serving step's wirebot:remoteTimeoutSeconds)`;
    }
}

const timeoutArgs = (seconds: number, file: string, args: string[]) => ["-k", "5", `${seconds}s`, file, ...args];

const ADVICE = "run the same pulumi up again (it resumes), or raise wirebot:remoteTimeoutSeconds";

function isTimeout(err: unknown): boolean {
    const e = err as { code?: string; name?: string };
    return e?.code === "ETIMEDOUT" || e?.name === "TimeoutError";
}
