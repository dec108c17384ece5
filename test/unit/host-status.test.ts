import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { hostStatusSchema } from "../../agent/contract";
import { hostStatus } from "../../agent/src/core/status";
import { loopbackAgentConfig } from "./loopback-agent";

// `wirebot-failover status` reads the agent's state files; the operator's
// `wirebot-ops status` parses what it prints with the shared schema.

const NOW = Date.parse("2026-11-27T10:00:00.000Z");

function stateDir(files: Record<string, unknown>): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wirebot-status-"));
    for (const [name, value] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), JSON.stringify(value));
    return dir;
}

describe("the host's status document", () => {
    it("on the primary: the last heartbeat sent, lag per database, file sync, Letta dump and the last drill", () => {
        const dir = stateDir({
            "last-heartbeat-sent.json": { at: "2026-11-27T09:59:57.000Z", seq: 9, ok: false, error: "fetch failed" },
            "file-sync.json": { at: "2026-11-27T09:58:00.000Z", ok: true, ms: 800, paths: 3 },
            "letta-dump.json": { at: "2026-11-27T09:00:00.000Z", ok: true, skipped: true, reason: "no letta container" },
            "last-drill.json": {
                id: "d1",
                startedAt: "2026-11-01T11:00:00.000Z",
                ok: false,
                primaryOffMs: 2100,
                steps: [
                    { step: "preflight", ok: true, ms: 10, detail: "ok" },
                    { step: "standby: chat", ok: false, ms: 3000, detail: "no answer in 3 s" },
                ],
            },
        });
        const config = { ...loopbackAgentConfig(dir, "p", "primary", 1, 2), stateDir: dir, databases: [{ path: "/data/events.db", replica: "/replica/events.db" }] };
        const status = hostStatusSchema.parse(hostStatus(config, NOW));
        assert.equal(status.role, "primary");
        assert.equal(status.serving, false);
        assert.deepEqual(status.heartbeat, { at: "2026-11-27T09:59:57.000Z", ageSeconds: 3, ok: false, error: "fetch failed", downAfterSeconds: 3 });
        assert.deepEqual(status.replication?.lagSeconds, { "/data/events.db": null });
        assert.deepEqual(status.replication?.fileSync, { at: "2026-11-27T09:58:00.000Z", ok: true });
        assert.deepEqual(status.replication?.lettaDump, { at: "2026-11-27T09:00:00.000Z", ok: true, skipped: true, reason: "no letta container" });
        assert.deepEqual(status.lastDrill, { at: "2026-11-01T11:00:00.000Z", ok: false, primaryOffMs: 2100, failed: "standby: chat: no answer in 3 s" });
        assert.equal(status.takeover, undefined);
    });

    it("on the standby: heartbeat age against the miss threshold, the takeover record, the export handed back", () => {
        const dir = stateDir({
            "last-heartbeat.json": { receivedAt: "2026-11-27T09:59:50.000Z", from: "10.0.0.1", heartbeat: {} },
            "takeover.json": { at: "2026-11-27T09:30:00.000Z", reason: "primary missed 3 heartbeats", timeline: [], automatic: true, planned: false, acknowledged: false },
            "handback.json": { id: "h1", at: "2026-11-20T00:00:00.000Z", exported: [], merged: true },
        });
        const config = { ...loopbackAgentConfig(dir, "s", "standby", 1, 2), stateDir: dir };
        const status = hostStatusSchema.parse(hostStatus(config, NOW));
        assert.deepEqual(status.heartbeat, { at: "2026-11-27T09:59:50.000Z", ageSeconds: 10, ok: false, downAfterSeconds: 3 });
        assert.deepEqual(status.takeover, { at: "2026-11-27T09:30:00.000Z", reason: "primary missed 3 heartbeats", automatic: true, planned: false, acknowledged: false });
        assert.deepEqual(status.handback, { id: "h1", at: "2026-11-20T00:00:00.000Z", merged: true });
        assert.equal(status.activating, false);
        assert.equal(status.replication, undefined);
    });

    it("before any state exists: nulls, not errors", () => {
        const dir = stateDir({});
        const primary = hostStatusSchema.parse(hostStatus({ ...loopbackAgentConfig(dir, "p", "primary", 1, 2), stateDir: dir }, NOW));
        assert.deepEqual(primary.heartbeat, { at: null, ageSeconds: null, ok: null, downAfterSeconds: 3 });
        assert.equal(primary.lastDrill, null);
        const standby = hostStatusSchema.parse(hostStatus({ ...loopbackAgentConfig(dir, "s", "standby", 1, 2), stateDir: dir }, NOW));
        assert.equal(standby.takeover, null);
        assert.equal(standby.handback, null);
    });

    it("an older agent's answer (role and units only) still parses", () => {
        const status = hostStatusSchema.parse({ role: "standby", units: { "cloudflared-wirebot.service": { active: "inactive", enabled: "disabled" } }, lastHeartbeatReceived: null });
        assert.equal(status.heartbeat, undefined);
    });
});
