import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { ConfigError } from "../../src/config/settings";
import { fingerprintOf, HostKeyPin, hostKeyCheck, KeyScan, parseKeyscan, parsePublicKey, sshKeyscan } from "../../src/host/host-key-check";
import type { SshHost } from "../../src/host/ssh-host";

// Keys and fingerprints come from the real ssh-keygen; ssh-keyscan's answers
// are given to the check as text, since no host runs sshd here.

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wirebot-hostkey-"));

/** A fresh host key of the given type: its `type blob comment` line and what ssh-keygen -lf prints for it. */
function hostKey(name: string, type: "ed25519" | "ecdsa" | "rsa"): { line: string; fingerprint: string } {
    const file = path.join(dir, name);
    execFileSync("ssh-keygen", ["-q", "-t", type, "-N", "", "-C", `root@${name}`, "-f", file]);
    const line = fs.readFileSync(`${file}.pub`, "utf8").trim();
    return { line, fingerprint: keygenFingerprints(`${file}.pub`)[0] };
}

function keygenFingerprints(file: string): string[] {
    return execFileSync("ssh-keygen", ["-lf", file], { encoding: "utf8" })
        .trim()
        .split("\n")
        .map((l) => l.split(" ")[1]);
}

const typeAndBlob = (line: string) => line.split(" ").slice(0, 2).join(" ");

const pinned = hostKey("pinned", "ed25519");
const rotated = hostKey("rotated", "ed25519");
const ecdsa = hostKey("ecdsa", "ecdsa");
const rsa = hostKey("rsa", "rsa");

/** What ssh-keyscan prints for the host, banner comment included. */
const answer = (address: string, ...lines: string[]) =>
    [`# ${address}:22 SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u6`, ...lines.map((l) => `${address} ${typeAndBlob(l)}`)].join("\n") + "\n";

const primary = (extra: Partial<SshHost> = {}): SshHost => ({
    name: "primary",
    address: "203.0.113.10",
    port: 22,
    user: "root",
    hostKey: typeAndBlob(pinned.line),
    privateKey: "unused",
    arch: "amd64",
    ...extra,
});
const PIN: HostKeyPin = { key: "wirebot:primary.hostKey", stack: "primary" };

/** A stand-in for ssh-keyscan that answers with fixed text and records what it was asked. */
function scanner(output: string | undefined): { scan: KeyScan; asked: unknown[][] } {
    const asked: unknown[][] = [];
    return { asked, scan: async (...args) => (asked.push(args), output) };
}

async function refusal(check: Promise<void>): Promise<string> {
    try {
        await check;
    } catch (err) {
        assert.ok(err instanceof ConfigError, `a ConfigError, got ${err}`);
        assert.equal(err.problems.length, 1);
        return err.problems[0];
    }
    assert.fail("expected the host to be refused");
}

describe("an SSH key's fingerprint", () => {
    it("is what ssh-keygen -lf prints, for each key type", () => {
        for (const key of [pinned, rotated, ecdsa, rsa]) {
            assert.match(key.fingerprint, /^SHA256:[A-Za-z0-9+/]{43}$/);
            assert.equal(fingerprintOf(parsePublicKey(key.line)), key.fingerprint);
        }
    });
});

describe("ssh-keyscan's output", () => {
    it("yields every key line, of several types and with [host]:port names, and skips its comments and blank lines", () => {
        const output = [
            "# 10.77.0.11:2222 SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u6",
            `[10.77.0.11]:2222 ${typeAndBlob(pinned.line)}`,
            "",
            "# 10.77.0.11:2222 SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u6",
            `[10.77.0.11]:2222 ${typeAndBlob(ecdsa.line)}`,
            `[10.77.0.11]:2222 ${typeAndBlob(rsa.line)}`,
            "",
        ].join("\n");
        const keys = parseKeyscan(output);
        assert.deepEqual(keys.map((k) => k.type), ["ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa"]);
        const file = path.join(dir, "keyscan.txt");
        fs.writeFileSync(file, output);
        assert.deepEqual(keys.map(fingerprintOf), keygenFingerprints(file), "the same keys ssh-keygen reads from it");
    });

    it("yields nothing when the host did not answer", () => {
        assert.deepEqual(parseKeyscan(""), []);
        assert.deepEqual(parseKeyscan("# 10.77.0.11:22 SSH-2.0-OpenSSH_9.2p1\n"), []);
    });
});

describe("the host key check", () => {
    it("scans the host's port for the type of the pinned key", async () => {
        for (const [key, port, type] of [[pinned, 2222, "ed25519"], [rsa, 22, "rsa"], [ecdsa, 22, "ecdsa"]] as const) {
            const { scan, asked } = scanner("");
            await hostKeyCheck(scan)(primary({ hostKey: key.line, port }), PIN);
            assert.deepEqual(asked, [["203.0.113.10", port, type]]);
        }
    });

    it("passes a host that presents the pinned key, also among others and with the pin's comment", async () => {
        await hostKeyCheck(scanner(answer("203.0.113.10", rotated.line, pinned.line)).scan)(primary({ hostKey: pinned.line }), PIN);
    });

    it("refuses a host with another key in one line naming the host, both fingerprints, the config key and the fix", async () => {
        const problem = await refusal(hostKeyCheck(scanner(answer("203.0.113.10", rotated.line)).scan)(primary(), PIN));
        assert.equal(
            problem,
            `wirebot:primary.hostKey (stack primary): the primary host 203.0.113.10:22 presents another SSH host key than the pinned one: ` +
                `pinned ${pinned.fingerprint}, seen ${rotated.fingerprint}; nothing was run on it. ` +
                `If the host was reinstalled or its keys rotated, verify the seen fingerprint out of band, ` +
                `e.g. on the host's console with ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub; only if it matches, ` +
                `pin it: pulumi config set -s primary --path wirebot:primary.hostKey "${typeAndBlob(rotated.line)}"`,
        );
    });

    it("names every key seen, and the stack to bring up when the pin is read from another stack's outputs", async () => {
        const other = hostKey("other", "ed25519");
        const pin: HostKeyPin = { key: "wirebot:primary.hostKey", stack: "acme/wirebot-failover/primary", readFromOutputs: true };
        const problem = await refusal(hostKeyCheck(scanner(answer("203.0.113.10", rotated.line, other.line)).scan)(primary(), pin));
        assert.match(problem, new RegExp(`pinned ${literal(pinned.fingerprint)}, seen ${literal(rotated.fingerprint)}, ${literal(other.fingerprint)};`));
        assert.match(problem, /pulumi config set -s acme\/wirebot-failover\/primary --path wirebot:primary\.hostKey "ssh-ed25519 [^"]+", then pulumi up -s acme\/wirebot-failover\/primary so this stack reads it$/);
    });

    it("names the standby and its port on the standby stack", async () => {
        const standby = primary({ name: "standby", address: "10.77.0.11", port: 2222 });
        const pin: HostKeyPin = { key: "wirebot:standby.existing.hostKey", stack: "standby" };
        const problem = await refusal(hostKeyCheck(scanner(answer("[10.77.0.11]:2222", rotated.line)).scan)(standby, pin));
        assert.match(problem, /^wirebot:standby\.existing\.hostKey \(stack standby\): the standby host 10\.77\.0\.11:2222 presents another SSH host key/);
        assert.match(problem, /pulumi config set -s standby --path wirebot:standby\.existing\.hostKey "ssh-ed25519 /);
    });

    it("passes a host that does not answer: its steps report it", async () => {
        await hostKeyCheck(scanner("").scan)(primary(), PIN);
    });

    it("skips a host whose address exists only once a resource does", async () => {
        const { scan, asked } = scanner(answer("198.51.100.20", rotated.line));
        await hostKeyCheck(scan)(primary({ address: Promise.resolve("198.51.100.20") }), PIN);
        assert.deepEqual(asked, []);
    });

    it("passes when ssh-keyscan is missing, warning once per run", async () => {
        const warnings: string[] = [];
        const check = hostKeyCheck(scanner(undefined).scan, (m) => warnings.push(m));
        await check(primary(), PIN);
        await check(primary({ name: "standby" }), { key: "wirebot:standby.existing.hostKey", stack: "standby" });
        assert.equal(warnings.length, 1);
        assert.match(warnings[0], /^ssh-keyscan is not installed, so the hosts' SSH keys are not compared with the pinned ones/);
    });
});

describe("the real ssh-keyscan", () => {
    it("yields no keys, quickly, from a port where nothing listens", async () => {
        const port = await closedPort();
        const started = Date.now();
        assert.deepEqual(parseKeyscan((await sshKeyscan("127.0.0.1", port, "ed25519"))!), []);
        assert.ok(Date.now() - started < 5000);
    });

    it("is reported missing when it is not on the PATH", async () => {
        const saved = process.env.PATH;
        process.env.PATH = dir;
        try {
            assert.equal(await sshKeyscan("127.0.0.1", 22, "ed25519"), undefined);
        } finally {
            process.env.PATH = saved;
        }
    });
});

function literal(text: string): string {
    return text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

function closedPort(): Promise<number> {
    return new Promise((resolve) => {
        const server = net.createServer().listen(0, "127.0.0.1", () => {
            const { port } = server.address() as net.AddressInfo;
            server.close(() => resolve(port));
        });
    });
}
