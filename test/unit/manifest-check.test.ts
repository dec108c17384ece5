import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { checkManifestEntries, ManifestRefused } from "../../agent/src/takeover/manifest-check";

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
