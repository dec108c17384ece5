import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { inboxFor } from "../../agent/src/takeover/inbox";
import { HOST_DIR } from "../../src/render/templates";
import { loopbackAgentConfig } from "./loopback-agent";
import { fakeSsh, fileSyncEnvFile, SYNC_UID } from "./sync-link";

// The primary pulls the standby's export (copies of the hub's databases and
// files) into its inbox: root's alone, from the moment anything is in it.

/** Every entry under `root` (itself included) with its mode and owner, links as links. */
function modes(root: string): Record<string, { mode: string; uid: number }> {
    const out: Record<string, { mode: string; uid: number }> = {};
    const walk = (at: string) => {
        const stat = fs.lstatSync(at);
        out[path.relative(root, at) || "."] = { mode: (stat.mode & 0o7777).toString(8).padStart(4, "0"), uid: stat.uid };
        if (stat.isDirectory()) for (const name of fs.readdirSync(at)) walk(path.join(at, name));
    };
    walk(root);
    return out;
}

describe("the primary's inbox", () => {
    it("is root's alone after the pull: directories 0700, files 0600, owned by root, whatever the standby's outbox holds and whatever the umask", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wirebot-inbox-pull-"));
        fs.chmodSync(dir, 0o755); // the sync user must reach its directory
        // The standby's sync directory, its outbox as an export leaves it: readable copies, owned by the sync user.
        const sync = path.join(dir, "standby-sync");
        const outbox = path.join(sync, "outbox");
        fs.mkdirSync(path.join(outbox, "files", "home", "wirebot", "clawd"), { recursive: true, mode: 0o755 });
        fs.writeFileSync(path.join(outbox, "manifest.json"), "{}\n", { mode: 0o644 });
        fs.writeFileSync(path.join(outbox, "0-events.db"), "SQLite format 3\0", { mode: 0o644 });
        fs.writeFileSync(path.join(outbox, "files", "home", "wirebot", "clawd", "notes.md"), "notes", { mode: 0o664 });
        spawnSync("chmod", ["-R", "go+rX", outbox]);
        spawnSync("chown", ["-R", `${SYNC_UID}:${SYNC_UID}`, sync]);
        fs.chmodSync(sync, 0o700);
        const bin = path.join(dir, "bin");
        fakeSsh(bin, sync);
        const env = fileSyncEnvFile(dir, path.join(dir, "paths"));
        const inbox = path.join(dir, "state", "inbox", "export-1");

        // A umask of 0 would leave everything mkdir and rsync make open to all, unless they are told the modes.
        const r = spawnSync("sh", ["-c", 'umask 000; exec sh "$@"', "sh", path.join(HOST_DIR, "bin", "wirebot-file-sync"), "pull", "outbox", inbox], {
            encoding: "utf8",
            env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, WIREBOT_FILE_SYNC_ENV: env },
        });
        assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
        assert.equal(fs.readFileSync(path.join(inbox, "files", "home", "wirebot", "clawd", "notes.md"), "utf8"), "notes", "the pull went through rrsync");
        const got = modes(path.join(dir, "state"));
        const expected = Object.fromEntries(
            [".", "inbox", "inbox/export-1", "inbox/export-1/files", "inbox/export-1/files/home", "inbox/export-1/files/home/wirebot", "inbox/export-1/files/home/wirebot/clawd"]
                .map((d) => [d, { mode: "0700", uid: 0 }])
                .concat(["inbox/export-1/manifest.json", "inbox/export-1/0-events.db", "inbox/export-1/files/home/wirebot/clawd/notes.md"].map((f) => [f, { mode: "0600", uid: 0 }])),
        );
        assert.deepEqual(got, expected);
    });

    it("exists, root-only, before anything is pulled into it, and an inbox an earlier version left open is closed", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wirebot-inbox-"));
        const config = loopbackAgentConfig(dir, "primary", "primary", 1, 2);
        // What the inbox looked like before: 0755 directories, 0644 copies; a link in it points at a file elsewhere.
        const old = path.join(config.stateDir, "inbox", "old-export");
        fs.mkdirSync(path.join(old, "files", "etc"), { recursive: true, mode: 0o755 });
        fs.writeFileSync(path.join(old, "0-events.db"), "copy", { mode: 0o644 });
        fs.writeFileSync(path.join(old, "files", "etc", "hub.conf"), "secret=1", { mode: 0o644 });
        const elsewhere = path.join(dir, "elsewhere");
        fs.writeFileSync(elsewhere, "not the inbox's", { mode: 0o644 });
        fs.symlinkSync(elsewhere, path.join(old, "link"));
        spawnSync("chmod", ["0755", path.join(config.stateDir, "inbox"), old, path.join(old, "files"), path.join(old, "files", "etc")]);

        const umask = process.umask(0);
        let made: string;
        try {
            made = inboxFor(config, "new-export");
        } finally {
            process.umask(umask);
        }
        assert.equal(made, path.join(config.stateDir, "inbox", "new-export"));
        assert.deepEqual(modes(path.join(config.stateDir, "inbox")), {
            ".": { mode: "0700", uid: 0 },
            "new-export": { mode: "0700", uid: 0 },
            "old-export": { mode: "0700", uid: 0 },
            "old-export/0-events.db": { mode: "0600", uid: 0 },
            "old-export/files": { mode: "0700", uid: 0 },
            "old-export/files/etc": { mode: "0700", uid: 0 },
            "old-export/files/etc/hub.conf": { mode: "0600", uid: 0 },
            "old-export/link": { mode: "0777", uid: 0 },
        });
        assert.equal(fs.statSync(elsewhere).mode & 0o777, 0o644, "a link is not followed");
    });
});
