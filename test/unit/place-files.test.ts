import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { HOST_DIR } from "../../src/render/templates";
import { fakeSsh, fileSyncEnvFile, SYNC_UID } from "./sync-link";

// The hub's files go from the primary to the standby's staging directory as
// the unprivileged sync user (the real wirebot-file-sync, through the real
// rrsync), and wirebot-place-files puts them in place when the standby takes
// over. A file only root could read on the primary must not become the hub's
// user's on the standby.

/** The hub's user in this test: an existing user that is neither root nor the sync user's stand-in. */
const HUB_USER = "daemon";
const HUB_UID = 1;
const OTHER_USER = "bin";

const run = (script: string, args: string[], env: Record<string, string>) => {
    const r = spawnSync("sh", [path.join(HOST_DIR, "bin", script), ...args], { encoding: "utf8", env: { ...process.env, ...env } });
    assert.equal(r.status, 0, `${script}: ${r.stdout}${r.stderr}`);
    return r.stdout;
};

function owned(file: string, owner: string, mode: number, content = path.basename(file)): void {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content);
    const r = spawnSync("chown", [owner, file]);
    assert.equal(r.status, 0, String(r.stderr));
    fs.chmodSync(file, mode);
}

const ownerOf = (file: string) => {
    const stat = fs.lstatSync(file);
    return { uid: stat.uid, gid: stat.gid, mode: (stat.mode & 0o7777).toString(8).padStart(4, "0") };
};

describe("the hub's files on the standby", () => {
    it("keep the primary's owners: the hub's user's stay its own, every other file is root's, so nothing root-only there becomes the hub's user's; no setuid or setgid", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wirebot-place-"));
        fs.chmodSync(dir, 0o755); // the sync user must reach its directory
        const hub = path.join(dir, "hub");
        // The primary's files.
        owned(path.join(hub, "secret.env"), "root:root", 0o600);
        owned(path.join(hub, "services.env"), `root:${HUB_USER}`, 0o640);
        owned(path.join(hub, "notes.md"), `${HUB_USER}:${HUB_USER}`, 0o644);
        owned(path.join(hub, "work", "draft.md"), `${HUB_USER}:${HUB_USER}`, 0o600);
        owned(path.join(hub, "other.conf"), `${OTHER_USER}:${OTHER_USER}`, 0o640);
        owned(path.join(hub, "tool"), "root:root", 0o4755);
        owned(path.join(hub, "work", "helper"), `${HUB_USER}:${HUB_USER}`, 0o2755);
        owned(path.join(hub, "unchanged.md"), `${HUB_USER}:${HUB_USER}`, 0o600);
        spawnSync("chown", [`${HUB_USER}:${HUB_USER}`, hub, path.join(hub, "work")]);
        fs.chmodSync(hub, 0o750);

        // The standby's sync directory, its staging copy already holding one file as a sync before this version left it:
        // the same content and time, so the next sync sends no data for it, only its owner's record.
        const sync = path.join(dir, "sync");
        const staged = path.join(sync, "files", hub);
        owned(path.join(staged, "unchanged.md"), `${SYNC_UID}:${SYNC_UID}`, 0o600, "unchanged.md");
        const primaryTimes = fs.statSync(path.join(hub, "unchanged.md"));
        fs.utimesSync(path.join(staged, "unchanged.md"), primaryTimes.atime, primaryTimes.mtime);
        spawnSync("chown", ["-R", `${SYNC_UID}:${SYNC_UID}`, sync]);
        fs.chmodSync(sync, 0o700);
        const bin = path.join(dir, "bin");
        fakeSsh(bin, sync);
        const list = path.join(dir, "file-sync.list");
        fs.writeFileSync(list, `# synced paths\n${hub}\n`);
        const env = { PATH: `${bin}:${process.env.PATH}`, WIREBOT_FILE_SYNC_ENV: fileSyncEnvFile(dir, list), WIREBOT_DATA_OWNER: HUB_USER };

        assert.match(run("wirebot-file-sync", [], env), /^synced 1 path\(s\) to standby\.test/m);
        // Staging belongs to the sync user, whoever owned the file on the primary.
        assert.equal(ownerOf(path.join(staged, "secret.env")).uid, SYNC_UID);

        // The standby takes over: its own copy of the hub's directory, as an earlier version placed one file (the hub's user's, wrongly).
        fs.renameSync(hub, `${hub}.primary`);
        owned(path.join(hub, "secret.env"), `${HUB_USER}:${HUB_USER}`, 0o600, "placed before");
        assert.match(run("wirebot-place-files", [list, path.join(sync, "files")], env), /^placed 1 synced path\(s\)$/m);

        const hubUser = { uid: HUB_UID, gid: HUB_UID };
        const root = { uid: 0, gid: 0 };
        assert.deepEqual(
            Object.fromEntries(["", "secret.env", "services.env", "notes.md", "work", "work/draft.md", "other.conf", "tool", "work/helper", "unchanged.md"].map((f) => [f || ".", ownerOf(path.join(hub, f))])),
            {
                ".": { ...hubUser, mode: "0750" },
                "secret.env": { ...root, mode: "0600" },
                "services.env": { uid: 0, gid: HUB_UID, mode: "0640" },
                "notes.md": { ...hubUser, mode: "0644" },
                work: { ...hubUser, mode: "0755" },
                "work/draft.md": { ...hubUser, mode: "0600" },
                "other.conf": { ...root, mode: "0640" },
                tool: { ...root, mode: "0755" },
                "work/helper": { ...hubUser, mode: "0755" },
                "unchanged.md": { ...hubUser, mode: "0600" },
            },
        );
        assert.equal(fs.readFileSync(path.join(hub, "secret.env"), "utf8"), "secret.env");
    });

    it("leaves a copy synced before owners were recorded to root, not to the hub's user", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wirebot-place-old-"));
        const staging = path.join(dir, "files");
        const live = path.join(dir, "live");
        owned(path.join(staging, live, "secret.env"), `${SYNC_UID}:${SYNC_UID}`, 0o600);
        const list = path.join(dir, "file-sync.list");
        fs.writeFileSync(list, `${live}\n`);
        run("wirebot-place-files", [list, staging], { WIREBOT_DATA_OWNER: HUB_USER });
        assert.deepEqual(ownerOf(path.join(live, "secret.env")), { uid: 0, gid: 0, mode: "0600" });
    });
});
