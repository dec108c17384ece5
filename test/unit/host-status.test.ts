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
        assert.deepEqual(status.handback, { id: "h1", at: "2026-11-20T00:00:00.000Z", merged: true, state: "merged" });
        assert.equal(status.activating, false);
        assert.equal(status.replication, undefined);
        assert.equal(status.handbackOwed, true, "it took over after its last export");
        assert.deepEqual(status.keptExports, []);
        assert.equal(status.clockSkew, null, "a heartbeat recorded before the offset was");
    });

    it("on the standby: a hand-back under way, exports kept aside, the primary's clock as its last heartbeat showed it", () => {
        const dir = stateDir({
            "last-heartbeat.json": { receivedAt: "2026-11-27T09:59:59.000Z", from: "10.0.0.1", heartbeat: { seq: 7, skewMs: -6200 } },
            "takeover.json": { at: "2026-11-27T09:30:00.000Z", reason: "switchover", timeline: [], automatic: false, planned: true, acknowledged: true },
            "handback.json": { id: "h2", at: "2026-11-27T09:50:00.000Z", state: "exporting", takeoverAt: "2026-11-27T09:30:00.000Z", exported: [], merged: false },
        });
        const outbox = path.join(dir, "sync", "outbox");
        fs.mkdirSync(path.join(dir, "sync", "kept", "h0"), { recursive: true });
        const config = { ...loopbackAgentConfig(dir, "s", "standby", 1, 2), stateDir: dir, fileSync: { paths: [], debounceSeconds: 1, stagingDir: path.join(dir, "sync", "staging"), outboxDir: outbox } };
        const status = hostStatusSchema.parse(hostStatus(config, NOW));
        assert.deepEqual(status.handback, { id: "h2", at: "2026-11-27T09:50:00.000Z", merged: false, state: "exporting" });
        assert.equal(status.handbackOwed, true, "an export not complete is still owed");
        assert.deepEqual(status.keptExports, [{ id: "h0", path: path.join(dir, "sync", "kept", "h0") }]);
        assert.deepEqual(status.clockSkew, { aheadMs: -6200, at: "2026-11-27T09:59:59.000Z", allowedMs: 5000 });

        fs.writeFileSync(path.join(dir, "handback.json"), JSON.stringify({ id: "h2", at: "2026-11-27T09:50:00.000Z", state: "kept", takeoverAt: "2026-11-27T09:30:00.000Z", exported: [], merged: false }));
        const kept = hostStatusSchema.parse(hostStatus(config, NOW));
        assert.deepEqual(kept.handback, { id: "h2", at: "2026-11-27T09:50:00.000Z", merged: false, state: "kept", keptIn: path.join(dir, "sync", "kept", "h2") });
        assert.equal(kept.handbackOwed, false);
    });

    it("on the primary: the last merge, a reseed still owed, the operator's forget-standby, and an override-serve only while it lasts", () => {
        const dir = stateDir({
            "last-merge.json": { id: "h2", at: "2026-11-27T09:58:00.000Z", lines: [], files: "none" },
            "reseed-pending.json": { handbackId: "h2", at: "2026-11-27T09:57:00.000Z" },
            "standby-forgotten.json": { at: "2026-11-27T09:40:00.000Z" },
            "serve-override.json": { at: "2026-11-27T09:55:00.000Z", until: "2026-11-27T10:10:00.000Z" },
        });
        const config = { ...loopbackAgentConfig(dir, "p", "primary", 1, 2), stateDir: dir };
        const status = hostStatusSchema.parse(hostStatus(config, NOW));
        assert.deepEqual(status.lastMerge, { id: "h2", at: "2026-11-27T09:58:00.000Z" });
        assert.deepEqual(status.reseedOwed, { handbackId: "h2", at: "2026-11-27T09:57:00.000Z" });
        assert.deepEqual(status.standbyForgotten, { at: "2026-11-27T09:40:00.000Z" });
        assert.equal(status.serveOverrideUntil, "2026-11-27T10:10:00.000Z");
        assert.equal(hostStatusSchema.parse(hostStatus(config, Date.parse("2026-11-27T10:10:01.000Z"))).serveOverrideUntil, null, "a lapsed override is none");
    });

    it("before any state exists: nulls, not errors", () => {
        const dir = stateDir({});
        const primary = hostStatusSchema.parse(hostStatus({ ...loopbackAgentConfig(dir, "p", "primary", 1, 2), stateDir: dir }, NOW));
        assert.deepEqual(primary.heartbeat, { at: null, ageSeconds: null, ok: null, downAfterSeconds: 3 });
        assert.equal(primary.lastDrill, null);
        assert.equal(primary.lastMerge, null);
        assert.equal(primary.reseedOwed, null);
        assert.equal(primary.standbyForgotten, null);
        assert.equal(primary.serveOverrideUntil, null);
        const standby = hostStatusSchema.parse(hostStatus({ ...loopbackAgentConfig(dir, "s", "standby", 1, 2), stateDir: dir }, NOW));
        assert.equal(standby.takeover, null);
        assert.equal(standby.handback, null);
        assert.equal(standby.handbackOwed, false);
        assert.equal(standby.clockSkew, null);
    });

    it("an older agent's answer (role and units only) still parses", () => {
        const status = hostStatusSchema.parse({ role: "standby", units: { "cloudflared-wirebot.service": { active: "inactive", enabled: "disabled" } }, lastHeartbeatReceived: null });
        assert.equal(status.heartbeat, undefined);
    });
});
