import * as crypto from "node:crypto";

const SEED_BYTES = 32;
const KEY_TYPE = "ssh-ed25519";
// RFC 8410 DER headers: node:crypto imports and exports raw Ed25519 keys only
// inside PKCS#8 (private) and SPKI (public) structures.
const PKCS8_ED25519_HEADER = Buffer.from("302e020100300506032b657004220420", "hex");
const SPKI_ED25519_HEADER = Buffer.from("302a300506032b6570032100", "hex");
// Unencrypted keys are padded to the "none" cipher's block size.
const CIPHER_NONE_BLOCK = 8;
const PEM_LINE_LENGTH = 70;

export interface OpenSshKeypair {
    privateKeyOpenSsh: string;
    publicKeyOpenSsh: string;
}

/**
 * Derives an Ed25519 key pair from a 32-byte base64 seed, in OpenSSH's formats.
 * Pure and deterministic, because Pulumi runs the program again on every
 * preview, and a different key would change the user data and so replace the server.
 */
export function ed25519KeypairFromSeed(seedBase64: string, comment: string): OpenSshKeypair {
    const seed = decodeSeed(seedBase64);
    if (/[\x00-\x1f\x7f]/.test(comment)) {
        // The public key is one line of authorized_keys / known_hosts.
        throw new Error("an SSH key comment must be a single line without control characters");
    }
    const publicRaw = ed25519PublicKey(seed);
    const publicBlob = Buffer.concat([sshString(KEY_TYPE), sshString(publicRaw)]);
    return {
        privateKeyOpenSsh: armor(openSshKeyV1(seed, publicRaw, publicBlob, comment)),
        publicKeyOpenSsh: [KEY_TYPE, publicBlob.toString("base64"), comment].filter((part) => part !== "").join(" "),
    };
}

function decodeSeed(seedBase64: string): Buffer {
    const seed = Buffer.from(seedBase64, "base64");
    // Buffer.from skips characters that are not base64, so only a round trip
    // proves the input was the seed and not something that merely decodes.
    // The messages never quote the input: it is a secret.
    if (seed.toString("base64") !== seedBase64) {
        throw new Error(`an Ed25519 seed must be ${SEED_BYTES} bytes of base64 (as RandomBytes.base64 gives it); the value given is not base64`);
    }
    if (seed.length !== SEED_BYTES) {
        throw new Error(`an Ed25519 seed must be ${SEED_BYTES} bytes, got ${seed.length}`);
    }
    return seed;
}

function ed25519PublicKey(seed: Buffer): Buffer {
    const privateKey = crypto.createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_HEADER, seed]), format: "der", type: "pkcs8" });
    const spki = crypto.createPublicKey(privateKey).export({ format: "der", type: "spki" });
    if (!spki.subarray(0, SPKI_ED25519_HEADER.length).equals(SPKI_ED25519_HEADER) || spki.length !== SPKI_ED25519_HEADER.length + 32) {
        throw new Error("node:crypto exported an Ed25519 public key in an unexpected SPKI layout");
    }
    return spki.subarray(SPKI_ED25519_HEADER.length);
}

/** openssh-key-v1 (OpenSSH's PROTOCOL.key): cipher none, kdf none, one key. */
function openSshKeyV1(seed: Buffer, publicRaw: Buffer, publicBlob: Buffer, comment: string): Buffer {
    const check = checkInt(seed);
    const privateSection = Buffer.concat([
        check,
        check,
        sshString(KEY_TYPE),
        sshString(publicRaw),
        sshString(Buffer.concat([seed, publicRaw])),
        sshString(comment),
    ]);
    return Buffer.concat([
        Buffer.from("openssh-key-v1\0", "latin1"),
        sshString("none"),
        sshString("none"),
        sshString(""),
        uint32(1),
        sshString(publicBlob),
        sshString(Buffer.concat([privateSection, padding(privateSection.length)])),
    ]);
}

// OpenSSH picks the check integer at random; it only has to appear twice so a
// wrong passphrase can be detected. Taking it from the seed keeps the file (and
// so the server's user data, which replaces the server when it changes)
// identical on every run, and reveals nothing the file does not already hold.
function checkInt(seed: Buffer): Buffer {
    return crypto.createHash("sha256").update(seed).digest().subarray(0, 4);
}

function padding(length: number): Buffer {
    const count = (CIPHER_NONE_BLOCK - (length % CIPHER_NONE_BLOCK)) % CIPHER_NONE_BLOCK;
    return Buffer.from(Array.from({ length: count }, (_, i) => i + 1));
}

function armor(body: Buffer): string {
    const base64 = body.toString("base64");
    const lines: string[] = [];
    for (let i = 0; i < base64.length; i += PEM_LINE_LENGTH) lines.push(base64.slice(i, i + PEM_LINE_LENGTH));
    return ["-----BEGIN OPENSSH PRIVATE KEY-----", ...lines, "-----END OPENSSH PRIVATE KEY-----", ""].join("\n");
}

function uint32(value: number): Buffer {
    const bytes = Buffer.alloc(4);
    bytes.writeUInt32BE(value);
    return bytes;
}

function sshString(value: string | Buffer): Buffer {
    const bytes = typeof value === "string" ? Buffer.from(value, "utf8") : value;
    return Buffer.concat([uint32(bytes.length), bytes]);
}
