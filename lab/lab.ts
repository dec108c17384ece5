import { execFileSync, spawn, spawnSync } from "node:child_process";
import * as path from "node:path";

export const HOSTS_SCRIPT = path.join(__dirname, "hosts.sh");
export type LabHost = "primary" | "standby";

export interface LabEnv {
    stateDir: string;
    sshKey: string;
    knownHosts: string;
    address: Record<LabHost, string>;
    hostKey: Record<LabHost, string>;
}

export function hosts(...args: string[]): string {
    return execFileSync("bash", [HOSTS_SCRIPT, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], timeout: 15 * 60_000 });
}

export function labEnv(): LabEnv {
    const vars = Object.fromEntries(
        hosts("env")
            .trim()
            .split("\n")
            .map((line) => {
                const [key, ...rest] = line.split("=");
                return [key, rest.join("=").replace(/\\ /g, " ").replace(/^'|'$/g, "")];
            }),
    );
    return {
        stateDir: vars.LAB_STATE_DIR,
        sshKey: vars.LAB_SSH_KEY,
        knownHosts: vars.LAB_KNOWN_HOSTS,
        address: { primary: vars.LAB_PRIMARY_ADDR, standby: vars.LAB_STANDBY_ADDR },
        hostKey: { primary: vars.LAB_PRIMARY_HOSTKEY, standby: vars.LAB_STANDBY_HOSTKEY },
    };
}

function sshArgs(env: LabEnv): string[] {
    return ["-i", env.sshKey, "-o", `UserKnownHostsFile=${env.knownHosts}`, "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", "-o", "LogLevel=ERROR"];
}

export interface Result {
    status: number;
    stdout: string;
    stderr: string;
}

export function ssh(env: LabEnv, host: LabHost, command: string, input?: string, timeoutMs = 60_000): Result {
    const r = spawnSync("ssh", [...sshArgs(env), `root@${env.address[host]}`, command], { input, encoding: "utf8", timeout: timeoutMs });
    return { status: r.status ?? -1, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
}

/** The same as ssh, without blocking the event loop: load and sampler keep running meanwhile. */
export function sshAsync(env: LabEnv, host: LabHost, command: string, input?: string, timeoutMs = 120_000): Promise<Result> {
    return new Promise((resolve) => {
        const child = spawn("ssh", [...sshArgs(env), `root@${env.address[host]}`, command], { timeout: timeoutMs });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d) => (stdout += d));
        child.stderr.on("data", (d) => (stderr += d));
        child.on("close", (code) => resolve({ status: code ?? -1, stdout, stderr }));
        child.stdin.end(input ?? "");
    });
}

export function sshOk(env: LabEnv, host: LabHost, command: string, input?: string): string {
    const r = ssh(env, host, command, input);
    if (r.status !== 0) throw new Error(`${host}: '${command}' failed (${r.status}): ${r.stderr}${r.stdout}`);
    return r.stdout;
}

export async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs: number, everyMs = 100): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const value = probe();
        if (value !== undefined) return value;
        if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
        await new Promise((r) => setTimeout(r, everyMs));
    }
}
