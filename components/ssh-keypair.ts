import * as crypto from "node:crypto";

// PKCS#8 and SPKI DER prefixes for Ed25519 (RFC 8410): node:crypto imports a raw
// 32-byte seed only when it is wrapped in one of these.
const PKCS8_ED25519_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");
const SPKI_ED25519_PREFIX_LENGTH = 12;
const KEY_TYPE = "ssh-ed25519";

export interface OpenSshKeypair {
    privateKeyOpenSsh: string;
    publicKeyOpenSsh: string;
}

/**
 * Derives an Ed25519 key pair from a 32-byte seed, in OpenSSH's formats. The same
 * seed always gives the same keys, because the program runs again on every preview.
 */
export function ed25519KeypairFromSeed(seedBase64: string, comment: string): OpenSshKeypair {
    const seed = Buffer.from(seedBase64, "base64");
    if (seed.length !== 32) {
        throw new Error(`an Ed25519 seed must be 32 bytes, got ${seed.length}`);
    }
    const privateKey = crypto.createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: "der", type: "pkcs8" });
    const publicRaw = crypto.createPublicKey(privateKey).export({ format: "der", type: "spki" }).subarray(SPKI_ED25519_PREFIX_LENGTH);
    const publicBlob = Buffer.concat([sshString(KEY_TYPE), sshString(publicRaw)]);
    return {
        privateKeyOpenSsh: openSshPrivateKey(seed, publicRaw, publicBlob, comment),
        publicKeyOpenSsh: `${KEY_TYPE} ${publicBlob.toString("base64")} ${comment}`,
    };
}

/** openssh-key-v1 (PROTOCOL.key), unencrypted, one key. */
function openSshPrivateKey(seed: Buffer, publicRaw: Buffer, publicBlob: Buffer, comment: string): string {
    // The check integers only have to match each other; deriving them from the seed keeps the output stable.
    const check = crypto.createHash("sha256").update(seed).digest().subarray(0, 4);
    const section = Buffer.concat([
        check,
        check,
        sshString(KEY_TYPE),
        sshString(publicRaw),
        sshString(Buffer.concat([seed, publicRaw])),
        sshString(comment),
    ]);
    const padded = Buffer.concat([section, padding(section.length)]);
    const body = Buffer.concat([
        Buffer.from("openssh-key-v1\0", "latin1"),
        sshString("none"),
        sshString("none"),
        sshString(""),
        uint32(1),
        sshString(publicBlob),
        sshString(padded),
    ]);
    const lines = body.toString("base64").match(/.{1,70}/g) ?? [];
    return ["-----BEGIN OPENSSH PRIVATE KEY-----", ...lines, "-----END OPENSSH PRIVATE KEY-----", ""].join("\n");
}

function padding(length: number): Buffer {
    const count = (8 - (length % 8)) % 8;
    return Buffer.from(Array.from({ length: count }, (_, i) => i + 1));
}

function uint32(value: number): Buffer {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(value);
    return b;
}

function sshString(value: string | Buffer): Buffer {
    const bytes = typeof value === "string" ? Buffer.from(value, "utf8") : value;
    return Buffer.concat([uint32(bytes.length), bytes]);
}
