import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { CONNECTOR, LoopbackPair, SERVICE } from "./loopback-hosts";

// The fire drill on the primary with the bundled agent on both sides (see
// loopback-hosts.ts). The standby took over once before and handed back; its
// live database still holds what it held then, including a row the primary
// has deleted since.

describe("a fire drill whose takeover fails", () => {
    it("exports nothing from the standby and merges nothing into the primary", async (t) => {
        const pair = await LoopbackPair.create();
        t.after(() => pair.stopWatchdog());
        const takeoverAt = "2026-01-04T11:00:00.000Z";
        pair.writeStateFile("standby", "takeover.json", { at: takeoverAt, reason: "fire drill", timeline: [], automatic: false, planned: true, acknowledged: true });
        pair.writeStateFile("standby", "handback.json", { id: "2b0e1f3c-0d5c-4d6e-9d67-3c1e2f4a5b6c", at: "2026-01-04T11:05:00.000Z", state: "merged", takeoverAt, exported: [], merged: true });
        pair.sql("standby", "events.db", "CREATE TABLE events (id TEXT PRIMARY KEY, kind TEXT); INSERT INTO events VALUES ('kept', 'x'), ('deleted-on-primary-since', 'x');");
        pair.sql("primary", "events.db", "CREATE TABLE events (id TEXT PRIMARY KEY, kind TEXT); INSERT INTO events VALUES ('kept', 'x');");
        // The primary ships nothing (no Litestream here): it drills with no database of its own to fingerprint.
        pair.configure("primary", { databases: [] });
        pair.script("standby", "wirebot-restore", 'echo "wirebot-restore: no replica of /data/wirebot/scoreboard/events.db" >&2; exit 1');
        pair.unit("primary", SERVICE, true);
        pair.unit("primary", CONNECTOR, true);
        await pair.startWatchdog();

        const drill = pair.run("primary", ["drill"]);
        assert.equal(drill.status, 1, drill.output);
        assert.match(drill.stdout, /✗ activate standby .*: Command failed: \/usr\/local\/sbin\/wirebot-restore\nwirebot-restore: no replica/);
        assert.match(drill.stdout, /ok   deactivate standby \(\d+ ms\): stopped; 0 database copy\(ies\) exported/);
        assert.doesNotMatch(drill.stdout, /merge what the standby took/);
        assert.equal(pair.sql("primary", "events.db", "SELECT group_concat(id) FROM events;"), "kept", "nothing of the standby's old database came back");
        assert.equal(pair.isActive("primary", CONNECTOR), true, "the primary serves again");
        assert.equal(pair.isActive("standby", CONNECTOR), false);
    });
});
