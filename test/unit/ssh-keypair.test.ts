import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { ed25519KeypairFromSeed } from "../../components/ssh-keypair";

const seed = (byte: number) => Buffer.alloc(32, byte).toString("base64");

describe("Ed25519 host keys from a seed", () => {
    it("are deterministic, and differ per seed", () => {
        assert.deepEqual(ed25519KeypairFromSeed(seed(1), "root@standby"), ed25519KeypairFromSeed(seed(1), "root@standby"));
        assert.notEqual(ed25519KeypairFromSeed(seed(1), "c").publicKeyOpenSsh, ed25519KeypairFromSeed(seed(2), "c").publicKeyOpenSsh);
    });

    it("give a private key that OpenSSH reads and whose public half matches", () => {
        const keys = ed25519KeypairFromSeed(crypto.randomBytes(32).toString("base64"), "root@standby");
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wirebot-key-"));
        const file = path.join(dir, "id_ed25519");
        fs.writeFileSync(file, keys.privateKeyOpenSsh, { mode: 0o600 });
        const derived = execFileSync("ssh-keygen", ["-y", "-f", file], { encoding: "utf8" }).trim();
        assert.equal(derived.split(" ").slice(0, 2).join(" "), keys.publicKeyOpenSsh.split(" ").slice(0, 2).join(" "));
        fs.writeFileSync(`${file}.pub`, keys.publicKeyOpenSsh + "\n");
        assert.match(execFileSync("ssh-keygen", ["-l", "-f", `${file}.pub`], { encoding: "utf8" }), /^256 SHA256:\S+ root@standby \(ED25519\)/);
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("sign with the private half and verify with the public half", () => {
        const s = crypto.randomBytes(32);
        const keys = ed25519KeypairFromSeed(s.toString("base64"), "c");
        const privateKey = crypto.createPrivateKey({ key: Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), s]), format: "der", type: "pkcs8" });
        const raw = Buffer.from(keys.publicKeyOpenSsh.split(" ")[1], "base64").subarray(4 + 11 + 4);
        const publicKey = crypto.createPublicKey({ key: Buffer.concat([Buffer.from("302a300506032b6570032100", "hex"), raw]), format: "der", type: "spki" });
        const message = Buffer.from("heartbeat");
        assert.ok(crypto.verify(null, message, publicKey, crypto.sign(null, message, privateKey)));
    });

    it("refuse a seed that is not 32 bytes", () => {
        assert.throws(() => ed25519KeypairFromSeed(Buffer.alloc(31).toString("base64"), "c"), /must be 32 bytes, got 31/);
    });
});
