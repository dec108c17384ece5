import { execFile } from "node:child_process";
import * as crypto from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { ConfigError } from "../config/settings";
import type { SshHost } from "./ssh-host";

/** Where the operator pinned a host's key: the config key and the stack that holds it. */
export interface HostKeyPin {
    key: string;
    stack: string;
    /** Set when the stack being run reads the pin from the outputs of `stack`, so `stack` must be brought up after a change. */
    readFromOutputs?: boolean;
}

/** Refuses a host whose SSH key is not the pinned one, before any step runs on it. */
export type HostKeyCheck = (host: SshHost, pin: HostKeyPin) => Promise<void>;

/** What ssh-keyscan prints for the address, or undefined when ssh-keyscan is not installed. */
export type KeyScan = (address: string, port: number, keyType: string) => Promise<string | undefined>;

export interface PublicKey {
    type: string;
    /** The base64 key blob, as in authorized_keys and known_hosts. */
    blob: string;
}

const SCAN_TIMEOUT_SECONDS = 5;
// -T bounds each wait for the host; this also bounds a name that never resolves.
const SCAN_LIMIT_MS = 20_000;
const BASE64 = /^[A-Za-z0-9+/]+={0,3}$/;

/**
 * The check the program runs: hosts known only once a resource exists (a new
 * Hetzner standby) are skipped, as is a host that does not answer, because the
 * connection's own pinning still refuses a wrong key and the steps report an
 * unreachable host.
 */
export function hostKeyCheck(scan: KeyScan = sshKeyscan, warn: (message: string) => void = (m) => void pulumi.log.warn(m)): HostKeyCheck {
    let warned = false;
    return async (host, pin) => {
        const { address, hostKey } = host;
        if (typeof address !== "string" || typeof hostKey !== "string") return;
        const pinned = parsePublicKey(hostKey);
        const output = await scan(address, host.port, scanType(pinned.type));
        if (output === undefined) {
            if (!warned) warn(MISSING_KEYSCAN);
            warned = true;
            return;
        }
        const problem = mismatchProblem(host.name, `${address}:${host.port}`, pin, pinned, parseKeyscan(output));
        if (problem) throw new ConfigError([problem]);
    };
}

const MISSING_KEYSCAN =
    "ssh-keyscan is not installed, so the hosts' SSH keys are not compared with the pinned ones before the steps run; " +
    "a host with another key still fails its first step with only 'host key mismatch'. Install the OpenSSH client to have both fingerprints named.";

/** Runs ssh-keyscan without a shell; a host that does not answer yields empty output. */
export const sshKeyscan: KeyScan = (address, port, keyType) =>
    new Promise((resolve) => {
        const args = ["-T", String(SCAN_TIMEOUT_SECONDS), "-p", String(port), "-t", keyType, address];
        execFile("ssh-keyscan", args, { timeout: SCAN_LIMIT_MS, maxBuffer: 1024 * 1024 }, (error, stdout) => {
            resolve((error as NodeJS.ErrnoException | null)?.code === "ENOENT" ? undefined : stdout);
        });
    });

/** The keys in ssh-keyscan's output: `host type blob` lines; `#` lines are its comments. */
export function parseKeyscan(output: string): PublicKey[] {
    return output
        .split("\n")
        .map((line) => line.trim().split(/\s+/))
        .filter((fields) => fields.length >= 3 && !fields[0].startsWith("#") && BASE64.test(fields[2]))
        .map(([, type, blob]) => ({ type, blob }));
}

/** A pinned key as the config holds it: `type blob [comment]`. */
export function parsePublicKey(line: string): PublicKey {
    const [type, blob] = line.trim().split(/\s+/);
    return { type, blob };
}

/** OpenSSH's SHA256 fingerprint of a key, as ssh-keygen -lf prints it. */
export function fingerprintOf(key: PublicKey): string {
    const digest = crypto.createHash("sha256").update(Buffer.from(key.blob, "base64")).digest("base64");
    return `SHA256:${digest.replace(/=+$/, "")}`;
}

/** ssh-keyscan's -t name for a key type, which is also the one in the host's key file names. */
function scanType(keyType: string): string {
    if (keyType.startsWith("ecdsa-")) return "ecdsa";
    return keyType.replace(/^ssh-/, "");
}

/** One line naming both fingerprints and the fix, or undefined when the host did not answer or presents the pinned key. */
function mismatchProblem(role: string, hostPort: string, pin: HostKeyPin, pinned: PublicKey, seen: PublicKey[]): string | undefined {
    const expected = fingerprintOf(pinned);
    const fingerprints = [...new Set(seen.map(fingerprintOf))];
    if (fingerprints.length === 0 || fingerprints.includes(expected)) return undefined;
    const newKey = `${seen[0].type} ${seen[0].blob}`;
    const bringUp = pin.readFromOutputs ? `, then pulumi up -s ${pin.stack} so this stack reads it` : "";
    return (
        `${pin.key} (stack ${pin.stack}): the ${role} host ${hostPort} presents another SSH host key than the pinned one: ` +
        `pinned ${expected}, seen ${fingerprints.join(", ")}; nothing was run on it. ` +
        `If the host was reinstalled or its keys rotated, verify the seen fingerprint out of band, ` +
        `e.g. on the host's console with ssh-keygen -lf /etc/ssh/ssh_host_${scanType(pinned.type)}_key.pub; only if it matches, ` +
        `pin it: pulumi config set -s ${pin.stack} --path ${pin.key} "${newKey}"${bringUp}`
    );
}
