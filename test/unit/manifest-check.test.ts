import { strict as assert } from "node:assert";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { FILES_DIR, sha256 } from "../../agent/src/takeover/file-handback";
import { checkExportId, checkManifestEntries, checkManifestFiles, checkPulled, ManifestRefused } from "../../agent/src/takeover/manifest-check";

// The standby's export manifest comes from the other host: its file names and
// live paths are checked against this host's configuration before any merge.

const targets = { databases: ["/data/wirebot/scoreboard/events.db", "/data/wirebot/mem0/history.db"], tenantsDir: "/data/wirebot/scoreboard/tenants" };

describe("the export manifest's entries", () => {
    it("are taken when each file is a plain name and each live path a configured database or a tenant's events.db", () => {
        const entries = [
            { file: "0-events.db", live: "/data/wirebot/scoreboard/events.db" },
            { file: "1-history.db", live: "/data/wirebot/mem0/history.db" },
            { file: "2-events.db", live: "/data/wirebot/scoreboard/tenants/acme/events.db" },
        ];
        assert.deepEqual(checkManifestEntries(entries, targets), entries);
        assert.deepEqual(checkManifestEntries([], targets), []);
    });

    it("refuse the whole export when any entry points elsewhere, naming each", () => {
        const bad: [unknown, RegExp][] = [
            [{ file: "../../../root/.ssh/authorized_keys", live: "/data/wirebot/scoreboard/events.db" }, /entry 0: file "\.\.\/\.\.\/\.\.\/root\/\.ssh\/authorized_keys" is not a plain file name in the inbox/],
            [{ file: "/etc/shadow", live: "/data/wirebot/scoreboard/events.db" }, /file "\/etc\/shadow" is not a plain file name/],
            [{ file: "..", live: "/data/wirebot/scoreboard/events.db" }, /file "\.\." is not a plain file name/],
            [{ file: "0-events.db", live: "/etc/passwd" }, /entry 0: "\/etc\/passwd" is neither a configured database nor \/data\/wirebot\/scoreboard\/tenants\/<tenant>\/events\.db/],
            [{ file: "0-events.db", live: "/data/wirebot/scoreboard/tenants/../../../../etc/passwd" }, /is neither a configured database/],
            [{ file: "0-events.db", live: "/data/wirebot/scoreboard/tenants/acme/../events.db" }, /is neither a configured database/],
            [{ file: "0-events.db", live: "/data/wirebot/scoreboard/tenants/acme/deeper/events.db" }, /is neither a configured database/],
            [{ file: "0-events.db", live: "/data/wirebot/scoreboard/tenants/acme/other.db" }, /is neither a configured database/],
            [{ file: "0-events.db", live: "/data/wirebot/scoreboard/tenants/Not_A_Tenant/events.db" }, /is neither a configured database/],
            [{ file: "0-events.db", live: "data/wirebot/scoreboard/events.db" }, /is neither a configured database/],
            [{ file: "0-events.db" }, /entry 0: undefined is neither a configured database/],
            [null, /entry 0: file undefined is not a plain file name/],
        ];
        for (const [entry, message] of bad) {
            const good = { file: "1-history.db", live: "/data/wirebot/mem0/history.db" };
            assert.throws(() => checkManifestEntries([entry, good], targets), (err: Error) => {
                assert.ok(err instanceof ManifestRefused);
                assert.match(err.message, /^the standby's export manifest is refused, nothing was merged: /);
                assert.match(err.message, message);
                assert.doesNotMatch(err.message, /entry 1/);
                return true;
            });
        }
        assert.throws(() => checkManifestEntries({ file: "x" }, targets), /lists no entries/);
    });
});

describe("the export manifest's files", () => {
    const synced = ["/home/wirebot/clawd", "/etc/wirebot/hub.json"];
    const hash = "a".repeat(64);
    const file = (patch: object) => ({ path: "/home/wirebot/clawd/notes.md", sha256: hash, base: null, bytes: 3, mode: 0o644, ...patch });

    it("are taken under the synced paths with well-formed hashes, their mode without setuid, setgid or sticky bits; none in an older export", () => {
        const files = [file({}), file({ path: "/home/wirebot/clawd/sub/new.md", base: "b".repeat(64) }), file({ path: "/etc/wirebot/hub.json", mode: 0o6755 })];
        assert.deepEqual(
            checkManifestFiles(files, synced).map((f) => [f.path, f.mode]),
            [
                ["/home/wirebot/clawd/notes.md", 0o644],
                ["/home/wirebot/clawd/sub/new.md", 0o644],
                ["/etc/wirebot/hub.json", 0o755],
            ],
        );
        assert.deepEqual(checkManifestFiles(undefined, synced), []);
    });

    it("refuse the whole export when any file would land outside them or is malformed, naming each", () => {
        const bad: [unknown, RegExp][] = [
            [file({ path: "/root/.ssh/authorized_keys" }), /file 0: "\/root\/\.ssh\/authorized_keys" is not a file under the synced paths \(\/home\/wirebot\/clawd, \/etc\/wirebot\/hub\.json, \/run\/wirebot\)/],
            [file({ path: "/home/wirebot/clawd/../.bashrc" }), /is not a file under the synced paths/],
            [file({ path: "/home/wirebot/clawd2/x" }), /is not a file under the synced paths/],
            [file({ path: "home/wirebot/clawd/x" }), /is not a file under the synced paths/],
            [file({ path: "/home/wirebot/clawd/" }), /is not a file under the synced paths/],
            [file({ path: "/run/wirebot/x.pid" }), /is not a file under the synced paths/],
            [file({ sha256: "x" }), /file 0: its hashes are not SHA-256 digests/],
            [file({ base: "../etc" }), /file 0: its hashes are not SHA-256 digests/],
            [file({ bytes: -1 }), /file 0: its size -1 is not a number of bytes/],
            [file({ mode: "0644" }), /file 0: its mode "0644" is not a file mode/],
            [null, /file 0: undefined is not a file under the synced paths/],
        ];
        // A synced path under /run (a running service's state) is never handed back, even when configured.
        for (const [entry, message] of bad) {
            assert.throws(() => checkManifestFiles([entry, file({})], [...synced, "/run/wirebot"]), (err: Error) => {
                assert.ok(err instanceof ManifestRefused);
                assert.match(err.message, /^the standby's export manifest is refused, nothing was merged: /);
                assert.match(err.message, message);
                assert.doesNotMatch(err.message, /file 1/);
                return true;
            });
        }
        assert.throws(() => checkManifestFiles({ path: "/x" }, synced), /lists its files in no list/);
    });

    it("must arrive as regular files holding the content their hashes name, like the database copies", () => {
        const inbox = fs.mkdtempSync(path.join(os.tmpdir(), "wirebot-inbox-"));
        const secret = path.join(inbox, "..", `secret-${crypto.randomUUID()}`);
        fs.writeFileSync(secret, "not the standby's");
        const place = (live: string, content: string | null, link?: string) => {
            const at = path.join(inbox, FILES_DIR, live);
            fs.mkdirSync(path.dirname(at), { recursive: true });
            if (link) fs.symlinkSync(link, at);
            else fs.writeFileSync(at, content ?? "");
            return at;
        };
        fs.writeFileSync(path.join(inbox, "0-events.db"), "");
        fs.symlinkSync(secret, path.join(inbox, "1-events.db"));
        const good = place("/home/wirebot/clawd/notes.md", "notes");
        place("/home/wirebot/clawd/changed.md", "changed on the way");
        place("/home/wirebot/clawd/linked.md", null, secret);
        const entry = (live: string, content: string) => ({ path: live, sha256: crypto.createHash("sha256").update(content).digest("hex"), base: null, bytes: content.length, mode: 0o644 });
        checkPulled(inbox, [{ file: "0-events.db", live: "/data/a.db" }], [entry("/home/wirebot/clawd/notes.md", "notes")], FILES_DIR, sha256);
        assert.equal(sha256(good), entry("/home/wirebot/clawd/notes.md", "notes").sha256);
        assert.throws(
            () =>
                checkPulled(
                    inbox,
                    [{ file: "1-events.db", live: "/data/b.db" }],
                    [entry("/home/wirebot/clawd/changed.md", "as exported"), entry("/home/wirebot/clawd/linked.md", "not the standby's"), entry("/home/wirebot/clawd/missing.md", "x")],
                    FILES_DIR,
                    sha256,
                ),
            (err: Error) => {
                assert.ok(err instanceof ManifestRefused);
                assert.match(err.message, /1-events\.db is not a regular file in the inbox/);
                assert.match(err.message, /the copy of \/home\/wirebot\/clawd\/changed\.md does not hold the content the manifest names/);
                assert.match(err.message, /the copy of \/home\/wirebot\/clawd\/linked\.md is not a regular file in the inbox/);
                assert.match(err.message, /the copy of \/home\/wirebot\/clawd\/missing\.md is not a regular file in the inbox/);
                return true;
            },
        );
        fs.rmSync(secret);
    });
});

describe("the export's id", () => {
    it("is a plain name, as it names the primary's inbox directory for it", () => {
        assert.equal(checkExportId("0c9c4bb4-5f0e-4c8c-9f55-6a3b1f0e2d11"), "0c9c4bb4-5f0e-4c8c-9f55-6a3b1f0e2d11");
        for (const id of ["..", "../../etc", "a/b", "", ".hidden", 7, null]) assert.throws(() => checkExportId(id), ManifestRefused, String(id));
    });
});
