import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { ed25519KeypairFromSeed } from "../../src/host/ssh-keypair";

// RFC 8032 section 7.1, test 1.
const RFC8032_SECRET = Buffer.from("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", "hex");
const RFC8032_PUBLIC = Buffer.from("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "hex");
// Frozen: any change to the encoding changes the standby's user data, and Hetzner
// replaces a server whose user data changes.
const RFC8032_PRIVATE_KEY_FILE = [
    "-----BEGIN OPENSSH PRIVATE KEY-----",
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW",
    "QyNTUxOQAAACDXWpgBgrEKt9VL/tPJZAc6DuFy89qmIyWvAhpo9wdRGgAAAJBkTVCrZE1Q",
    "qwAAAAtzc2gtZWQyNTUxOQAAACDXWpgBgrEKt9VL/tPJZAc6DuFy89qmIyWvAhpo9wdRGg",
    "AAAECdYbGd7/1aYLqESvSS7CzEREnFaXsyaRlwO6wDHK5/YNdamAGCsQq31Uv+08lkBzoO",
    "4XLz2qYjJa8CGmj3B1EaAAAADHJvb3RAc3RhbmRieQE=",
    "-----END OPENSSH PRIVATE KEY-----",
    "",
].join("\n");

const filledSeed = (byte: number) => Buffer.alloc(32, byte).toString("base64");
const randomSeed = () => crypto.randomBytes(32);

/** Reads SSH wire-format fields (RFC 4251) from a buffer, front to back. */
class WireReader {
    private at = 0;
    constructor(private readonly bytes: Buffer) {}
    take(length: number): Buffer {
        assert.ok(this.at + length <= this.bytes.length, "field runs past the end");
        const value = this.bytes.subarray(this.at, this.at + length);
        this.at += length;
        return value;
    }
    uint32(): number {
        return this.take(4).readUInt32BE();
    }
    string(): Buffer {
        return this.take(this.uint32());
    }
    rest(): Buffer {
        return this.take(this.bytes.length - this.at);
    }
}

/** An independent reading of openssh-key-v1, so the tests do not trust the writer's own framing. */
function parsePrivateKey(text: string) {
    const lines = text.split("\n");
    assert.equal(lines[0], "-----BEGIN OPENSSH PRIVATE KEY-----");
    assert.equal(lines.at(-2), "-----END OPENSSH PRIVATE KEY-----");
    assert.equal(lines.at(-1), "", "ends with a newline");
    const base64Lines = lines.slice(1, -2);
    const outer = new WireReader(Buffer.from(base64Lines.join(""), "base64"));
    const magic = outer.take(15).toString("latin1");
    const cipher = outer.string().toString();
    const kdf = outer.string().toString();
    const kdfOptions = outer.string();
    const keyCount = outer.uint32();
    const publicBlob = outer.string();
    const privateSection = outer.string();
    assert.equal(outer.rest().length, 0, "nothing after the private section");
    const inner = new WireReader(privateSection);
    return {
        base64Lines,
        magic,
        cipher,
        kdf,
        kdfOptions,
        keyCount,
        publicBlob,
        privateSectionLength: privateSection.length,
        checks: [inner.uint32(), inner.uint32()],
        keyType: inner.string().toString(),
        publicRaw: inner.string(),
        secret: inner.string(),
        comment: inner.string().toString(),
        padding: [...inner.rest()],
    };
}

function publicRawOf(publicKeyOpenSsh: string): Buffer {
    const blob = new WireReader(Buffer.from(publicKeyOpenSsh.split(" ")[1], "base64"));
    assert.equal(blob.string().toString(), "ssh-ed25519");
    return blob.string();
}

function sshKeygen(args: string[]): string {
    const result = spawnSync("ssh-keygen", args, { encoding: "utf8" });
    if (result.error) assert.fail(`ssh-keygen could not run (${result.error.message}): install openssh-client`);
    assert.equal(result.status, 0, `ssh-keygen ${args.join(" ")}: ${result.stderr}`);
    return result.stdout.trim();
}

function withTempDir<T>(use: (dir: string) => T): T {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wirebot-host-key-"));
    try {
        return use(dir);
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

describe("Ed25519 host keys from a seed", () => {
    it("match RFC 8032's test vector", () => {
        const keys = ed25519KeypairFromSeed(RFC8032_SECRET.toString("base64"), "root@standby");
        assert.deepEqual(publicRawOf(keys.publicKeyOpenSsh), RFC8032_PUBLIC);
        assert.deepEqual(parsePrivateKey(keys.privateKeyOpenSsh).secret, Buffer.concat([RFC8032_SECRET, RFC8032_PUBLIC]));
        assert.equal(keys.privateKeyOpenSsh, RFC8032_PRIVATE_KEY_FILE);
    });

    it("are the same for the same seed, and differ between seeds", () => {
        assert.deepEqual(ed25519KeypairFromSeed(filledSeed(1), "root@standby"), ed25519KeypairFromSeed(filledSeed(1), "root@standby"));
        const one = ed25519KeypairFromSeed(filledSeed(1), "root@standby");
        const two = ed25519KeypairFromSeed(filledSeed(2), "root@standby");
        assert.notEqual(one.publicKeyOpenSsh, two.publicKeyOpenSsh);
        assert.notEqual(one.privateKeyOpenSsh, two.privateKeyOpenSsh);
    });

    it("write openssh-key-v1: unencrypted, one key, matching check ints, 1,2,3 padding, 70-column lines", () => {
        const keys = ed25519KeypairFromSeed(randomSeed().toString("base64"), "root@standby");
        const key = parsePrivateKey(keys.privateKeyOpenSsh);
        assert.equal(key.magic, "openssh-key-v1\0");
        assert.equal(key.cipher, "none");
        assert.equal(key.kdf, "none");
        assert.equal(key.kdfOptions.length, 0);
        assert.equal(key.keyCount, 1);
        assert.equal(key.publicBlob.toString("base64"), keys.publicKeyOpenSsh.split(" ")[1]);
        assert.equal(key.checks[0], key.checks[1]);
        assert.equal(key.keyType, "ssh-ed25519");
        assert.deepEqual(key.publicRaw, publicRawOf(keys.publicKeyOpenSsh));
        assert.equal(key.secret.length, 64);
        assert.deepEqual(key.secret.subarray(32), key.publicRaw);
        assert.equal(key.comment, "root@standby");
        assert.deepEqual(key.padding, key.padding.map((_, i) => i + 1));
        assert.equal(key.privateSectionLength % 8, 0);
        assert.ok(key.base64Lines.slice(0, -1).every((line) => line.length === 70));
        assert.ok(key.base64Lines.at(-1)!.length <= 70);
    });

    it("give OpenSSH a private key whose public half is the one returned", () => {
        const keys = ed25519KeypairFromSeed(randomSeed().toString("base64"), "root@standby");
        withTempDir((dir) => {
            const file = path.join(dir, "ssh_host_ed25519_key");
            fs.writeFileSync(file, keys.privateKeyOpenSsh, { mode: 0o600 });
            assert.equal(fs.statSync(file).mode & 0o777, 0o600);
            assert.equal(sshKeygen(["-y", "-f", file]), keys.publicKeyOpenSsh);
        });
    });

    it("give OpenSSH a public key it fingerprints as ED25519", () => {
        const keys = ed25519KeypairFromSeed(randomSeed().toString("base64"), "root@standby");
        const blob = Buffer.from(keys.publicKeyOpenSsh.split(" ")[1], "base64");
        const fingerprint = `SHA256:${crypto.createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
        withTempDir((dir) => {
            const file = path.join(dir, "ssh_host_ed25519_key.pub");
            fs.writeFileSync(file, `${keys.publicKeyOpenSsh}\n`);
            assert.equal(sshKeygen(["-l", "-f", file]), `256 ${fingerprint} root@standby (ED25519)`);
        });
    });

    it("sign with the private key and verify with the public key", () => {
        const keys = ed25519KeypairFromSeed(randomSeed().toString("base64"), "root@standby");
        const seed = parsePrivateKey(keys.privateKeyOpenSsh).secret.subarray(0, 32);
        const privateKey = crypto.createPrivateKey({
            key: Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), seed]),
            format: "der",
            type: "pkcs8",
        });
        const publicKey = crypto.createPublicKey({
            key: Buffer.concat([Buffer.from("302a300506032b6570032100", "hex"), publicRawOf(keys.publicKeyOpenSsh)]),
            format: "der",
            type: "spki",
        });
        const message = Buffer.from("standby host key check");
        const signature = crypto.sign(null, message, privateKey);
        assert.ok(crypto.verify(null, message, publicKey, signature));
        assert.ok(!crypto.verify(null, Buffer.from("something else"), publicKey, signature));
    });

    it("refuse a seed that is not 32 bytes", () => {
        assert.throws(() => ed25519KeypairFromSeed(crypto.randomBytes(31).toString("base64"), "c"), /must be 32 bytes, got 31/);
        assert.throws(() => ed25519KeypairFromSeed(crypto.randomBytes(33).toString("base64"), "c"), /must be 32 bytes, got 33/);
        assert.throws(() => ed25519KeypairFromSeed("", "c"), /must be 32 bytes, got 0/);
    });

    it("refuse a seed that is not base64, without echoing it", () => {
        const notBase64 = `${filledSeed(7).slice(0, 20)}!${filledSeed(7).slice(20)}`;
        assert.throws(
            () => ed25519KeypairFromSeed(notBase64, "c"),
            (error: Error) => /not base64/.test(error.message) && !error.message.includes(filledSeed(7).slice(0, 20)),
        );
    });

    it("refuse a comment that would break the one-line public key", () => {
        assert.throws(() => ed25519KeypairFromSeed(filledSeed(1), "root@standby\nssh-ed25519 AAAA evil"), /single line/);
    });
});
