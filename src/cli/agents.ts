import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { AGENT_COMMAND_PATH, HostStatus, hostStatusSchema } from "../../agent/contract";
import type { OutputValue, StackRole } from "./stacks";

// What really happens on the hosts, asked of each host's agent the way an
// operator would: `ssh <host> wirebot-failover status --json`, with the SSH
// details and the pinned host key from the stacks' outputs. The private key
// (a secret output) goes to a 0600 file in a private temporary directory for
// the one connection and is deleted after; it is never printed. Host keys are
// checked against the pin only (StrictHostKeyChecking yes, no other known_hosts).

export interface SshTarget {
    role: StackRole;
    address: string;
    port: number;
    user: string;
    hostKey: string;
    privateKey: string;
}

export type AgentAnswer = { ok: true; status: HostStatus } | { ok: false; error: string; fix: string };

export interface SshResult {
    status: number | null;
    stdout: string;
    stderr: string;
}

export type SshRunner = (args: string[], timeoutMs: number) => Promise<SshResult>;

export function knownHostsLine(address: string, port: number, hostKey: string): string {
    const name = port === 22 ? address : `[${address}]:${port}`;
    return `${name} ${hostKey.trim().split(/\s+/).slice(0, 2).join(" ")}\n`;
}

/** The command run on the host: as root, or through sudo for another SSH user (as the program's steps do). */
export function agentCommand(user: string): string {
    return `${user === "root" ? "" : "sudo -n "}${AGENT_COMMAND_PATH} status --json`;
}

export function sshArgs(target: SshTarget, keyFile: string, knownHostsFile: string, timeoutSeconds: number): string[] {
    return [
        ...["-i", keyFile, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes"],
        ...["-o", `UserKnownHostsFile=${knownHostsFile}`, "-o", "GlobalKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=yes"],
        ...["-o", `ConnectTimeout=${timeoutSeconds}`, "-o", "LogLevel=ERROR", "-p", String(target.port)],
        `${target.user}@${target.address}`,
        agentCommand(target.user),
    ];
}

const spawnSsh: SshRunner = (args, timeoutMs) =>
    new Promise((resolve) => {
        const child = spawn("ssh", args, { stdio: ["ignore", "pipe", "pipe"], timeout: timeoutMs });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d) => (stdout += d));
        child.stderr.on("data", (d) => (stderr += d));
        child.on("error", (err) => resolve({ status: null, stdout, stderr: `${stderr}${err.message}` }));
        child.on("close", (code, signal) => resolve({ status: code, stdout, stderr: signal ? `${stderr}timed out after ${timeoutMs / 1000} s` : stderr }));
    });

export async function askAgent(target: SshTarget, timeoutSeconds = 10, runSsh: SshRunner = spawnSsh, tmpRoot = os.tmpdir()): Promise<AgentAnswer> {
    const dir = fs.mkdtempSync(path.join(tmpRoot, "wirebot-ops-ssh-"));
    try {
        const keyFile = path.join(dir, "key");
        const knownHosts = path.join(dir, "known_hosts");
        fs.writeFileSync(keyFile, target.privateKey.endsWith("\n") ? target.privateKey : `${target.privateKey}\n`, { mode: 0o600 });
        fs.writeFileSync(knownHosts, knownHostsLine(target.address, target.port, target.hostKey), { mode: 0o600 });
        const result = await runSsh(sshArgs(target, keyFile, knownHosts, timeoutSeconds), (timeoutSeconds + 10) * 1000);
        return interpret(target, result);
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/** The agent's answer, or what went wrong in words with what to do. */
export function interpret(target: SshTarget, result: SshResult): AgentAnswer {
    const where = `${target.role} host ${target.address}:${target.port}`;
    const said = result.stderr.trim().split("\n").filter(Boolean).pop() ?? "";
    if (result.status === 0) {
        let parsed: unknown;
        try {
            parsed = JSON.parse(result.stdout);
        } catch {
            return { ok: false, error: `${where}: wirebot-failover status did not answer JSON`, fix: `run it there by hand: ssh ${target.user}@${target.address} ${agentCommand(target.user)}` };
        }
        const status = hostStatusSchema.safeParse(parsed);
        if (status.success) return { ok: true, status: status.data };
        return { ok: false, error: `${where}: the agent's answer is not a status document (${status.error.issues[0]?.message})`, fix: "pulumi up -s standby installs the agent of this version" };
    }
    if (result.status === 255 || result.status === null) {
        if (/host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED/i.test(result.stderr)) {
            return { ok: false, error: `${where} presents another SSH host key than the pinned one (${said})`, fix: 'nothing was run on it; see the README, "Host key mismatch"' };
        }
        if (/permission denied/i.test(result.stderr)) {
            return { ok: false, error: `${where} refused the stack's SSH key for ${target.user} (${said})`, fix: `check that the ${target.role} stack's SSH key is admitted for ${target.user} there` };
        }
        return { ok: false, error: `${where} cannot be reached over SSH (${said || "no answer"})`, fix: "check that the host is up and that this machine reaches it" };
    }
    if (result.status === 127 || /not found|No such file/i.test(said)) {
        return { ok: false, error: `${where} has no ${AGENT_COMMAND_PATH}`, fix: "the standby stack installs the agent on both hosts: pulumi up -s standby" };
    }
    if (/sudo/i.test(said)) return { ok: false, error: `${where}: sudo refused (${said})`, fix: `${target.user} needs passwordless sudo, as for the stack's steps` };
    return { ok: false, error: `${where}: wirebot-failover status failed with status ${result.status} (${said})`, fix: `run it there by hand: ssh ${target.user}@${target.address} ${agentCommand(target.user)}` };
}

type Outputs = Record<string, OutputValue>;

/** Each host's SSH details from the stacks' outputs, or why they are missing. */
export function sshTargets(primary: Outputs, standby: Outputs): Record<StackRole, SshTarget | { missing: string }> {
    const p = primary.primaryHost?.value as { host?: string; port?: number; user?: string; hostKey?: string } | undefined;
    const pKey = primary.primarySshKey?.value;
    const sHost = standby.standbyHost?.value as { port?: number; user?: string } | undefined;
    const sAddress = standby.standbyAddress?.value;
    const sHostKey = standby.standbyHostKey?.value;
    const sKey = standby.standbySshKey?.value;
    return {
        primary:
            p?.host && p.hostKey && typeof pKey === "string"
                ? { role: "primary", address: p.host, port: p.port ?? 22, user: p.user ?? "root", hostKey: p.hostKey, privateKey: pKey }
                : { missing: "the primary stack has no primaryHost or primarySshKey output: pulumi up -s primary" },
        standby:
            typeof sAddress === "string" && typeof sHostKey === "string" && typeof sKey === "string"
                ? { role: "standby", address: sAddress, port: sHost?.port ?? 22, user: sHost?.user ?? "root", hostKey: sHostKey, privateKey: sKey }
                : { missing: "the standby stack has no standbyAddress, standbyHostKey or standbySshKey output: pulumi up -s standby" },
    };
}
