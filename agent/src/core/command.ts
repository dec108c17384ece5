import { execFile } from "node:child_process";

const COMMAND_TIMEOUT_MS = 60_000;

/**
 * A host command fed `input`, without blocking the agent's event loop, so many
 * can run at once and the agent keeps answering meanwhile. A failure carries
 * the command's stderr in its message and as `stderr`.
 */
export function runCommand(file: string, args: string[], input = "", timeoutMs = COMMAND_TIMEOUT_MS): Promise<string> {
    return new Promise((resolve, reject) => {
        const child = execFile(file, args, { encoding: "utf8", timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
            if (err) {
                // Shaped as execFileSync's: the command, then what it said.
                err.message = `Command failed: ${[file, ...args].join(" ")}\n${(stderr || err.message).trim()}`;
                return reject(Object.assign(err, { stderr }));
            }
            resolve(stdout);
        });
        // A command that exits without reading its input closes the pipe: that write's
        // EPIPE is no failure of ours (the exit status says how the command went), and
        // left unhandled it would take the agent down.
        child.stdin?.on("error", () => undefined);
        child.stdin?.end(input);
    });
}
