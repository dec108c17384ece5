// Where the commands write and what time it is: the process in real use, buffers in tests.

export interface Io {
    out(line: string): void;
    err(line: string): void;
    now(): number;
}

export const processIo: Io = {
    out: (line) => process.stdout.write(line + "\n"),
    err: (line) => process.stderr.write(line + "\n"),
    now: () => Date.now(),
};

/** Exit codes of the flip commands (status has its own, see status.ts). */
export const EXIT = {
    ok: 0,
    /** A step failed (a host unreachable, a service that would not start), or a host serves with a debt: see the message. */
    failed: 1,
    usage: 2,
    /** The hosts refused the flip as unsafe; their reason is shown. */
    refused: 3,
    /** Another update holds a stack, or another wirebot-ops command runs in this project. */
    locked: 4,
} as const;
