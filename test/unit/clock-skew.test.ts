import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { buildAgentBundle } from "../../agent/build";
import { newNonce, signRequest } from "../../agent/src/heartbeat/heartbeat";
import { freePort, loopbackAgentConfig, RunningAgent, startAgent, startWatchdog, waitFor, writeAgentConfig } from "./loopback-agent";

// The primary's clock is a minute off: every heartbeat is signed with the right
// token at the wrong time. That proves the primary alive; it must not turn into
// missed heartbeats (and from there an activation). The bundled agents on
// loopback, the replicator's clock shifted by a preloaded module.

const TOKEN = "k".repeat(48);
const OFFSET_MS = 60_000;

/** Makes Date (and so every timestamp the agent signs) run OFFSET_MS ahead in the process that preloads it. */
const SHIFTED_CLOCK = `
const RealDate = Date;
class ShiftedDate extends RealDate {
    constructor(...args) { if (args.length === 0) super(RealDate.now() + ${OFFSET_MS}); else super(...args); }
    static now() { return RealDate.now() + ${OFFSET_MS}; }
}
globalThis.Date = ShiftedDate;
`;

describe("a primary whose clock is off", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wirebot-skew-"));
    const bundle = path.join(dir, "wirebot-agent.js");
    const running: RunningAgent[] = [];
    const alerts: string[] = [];
    const webhook = http.createServer(async (req, res) => {
        let body = "";
        for await (const chunk of req) body += chunk;
        alerts.push((JSON.parse(body) as { content: string }).content);
        res.writeHead(204).end();
    });

    before(async () => {
        fs.writeFileSync(bundle, buildAgentBundle(), { mode: 0o755 });
        fs.writeFileSync(path.join(dir, "token"), TOKEN, { mode: 0o600 });
        fs.writeFileSync(path.join(dir, "shifted-clock.cjs"), SHIFTED_CLOCK);
        const port = await new Promise<number>((resolve) => webhook.listen(0, "127.0.0.1", () => resolve((webhook.address() as net.AddressInfo).port)));
        fs.writeFileSync(path.join(dir, "webhook.url"), `http://127.0.0.1:${port}/alert`, { mode: 0o600 });
    });
    after(async () => {
        await Promise.all(running.map((a) => a.stop()));
        webhook.closeAllConnections();
        webhook.close();
    });

    it("never lets the watchdog count its heartbeats as missed up to the threshold, and is reported once as skew", async () => {
        const watchdogPort = await freePort();
        const standby = { ...loopbackAgentConfig(dir, "standby", "standby", watchdogPort, 1), alertWebhookUrlFile: path.join(dir, "webhook.url") };
        const primary = loopbackAgentConfig(dir, "primary", "primary", await freePort(), watchdogPort);
        const primaryFile = writeAgentConfig(dir, "primary", primary);
        const shifted = ["--require", path.join(dir, "shifted-clock.cjs")];
        // The replicator first, already beating, so its start takes nothing from the watchdog's miss window.
        const replicator = startAgent(bundle, "replicator", primaryFile, shifted);
        running.push(replicator);
        await waitFor("the replicator to run", () => (replicator.output().includes("replicator: heartbeats every") ? true : undefined));
        const watchdog = await startWatchdog(bundle, writeAgentConfig(dir, "standby", standby));
        running.push(watchdog);
        // Past the threshold (3 misses of 1 s).
        await new Promise((r) => setTimeout(r, (standby.missThreshold + 1) * standby.heartbeatIntervalSeconds * 1000));
        // The first heartbeat has no challenge to echo yet; after it, every one counts.
        assert.doesNotMatch(watchdog.output(), /primary missed ([3-9]|\d\d+) heartbeat|automatic activation/);
        const last = JSON.parse(fs.readFileSync(path.join(standby.stateDir, "last-heartbeat.json"), "utf8")) as { receivedAt: string; heartbeat: { skewMs: number } };
        assert.ok(Date.now() - Date.parse(last.receivedAt) < 2000, `the last heartbeat counted at ${last.receivedAt}`);
        assert.ok(Math.abs(last.heartbeat.skewMs - OFFSET_MS) < 2000, `skew ${last.heartbeat.skewMs}`);
        const reported = /watchdog: the primary's clock is (59|6\d)\.\d s ahead of this host's clock \(more than the 5 s allowed for transit\): its heartbeats still count.*fix time sync/;
        assert.equal(watchdog.output().split("\n").filter((l) => reported.test(l)).length, 1, watchdog.output());
        await waitFor("the alert", () => (alerts.some((a) => /the primary's clock is (59|6\d)\.\d s ahead/.test(a)) ? true : undefined));
        assert.match(replicator.output(), /replicator: the standby's clock is (59|6\d)\.\d s behind this host's clock/);
        // A claim proves nothing new without a challenge: refused, and saying why.
        const claim = startAgent(bundle, "may-serve", primaryFile, shifted);
        assert.equal(await claim.done(), 1, claim.output());
        assert.match(claim.output(), /the standby did not take the claim \(HTTP 401: clock skew: signed (59|6\d)\.\d s ahead of this host's clock\); not starting/);
    });

    it("counts only when it echoes a challenge this watchdog gave out, and each challenge once", async () => {
        const watchdogPort = await freePort();
        const standby = loopbackAgentConfig(dir, "standby-direct", "standby", watchdogPort, 1);
        running.push(await startWatchdog(bundle, writeAgentConfig(dir, "standby-direct", standby)));
        const post = async (shiftMs: number, challenge?: string) => {
            const timestamp = new Date(Date.now() + shiftMs).toISOString();
            const body = JSON.stringify({ host: "primary", role: "primary", sentAt: timestamp, seq: 1, services: {}, challenge });
            const request = { method: "POST", path: "/heartbeat", target: `127.0.0.1:${watchdogPort}`, timestamp, nonce: newNonce(), body };
            const headers = { "content-type": "application/json", "x-wirebot-signature": signRequest(TOKEN, request), "x-wirebot-timestamp": timestamp, "x-wirebot-nonce": request.nonce, "x-wirebot-target": request.target };
            const response = await fetch(`http://127.0.0.1:${watchdogPort}/heartbeat`, { method: "POST", headers, body });
            return { status: response.status, body: (await response.json()) as { challenge?: string } };
        };
        const inTime = await post(0);
        assert.equal(inTime.status, 200);
        assert.equal((await post(OFFSET_MS)).status, 401, "skewed, echoing nothing");
        assert.equal((await post(OFFSET_MS, "f".repeat(32))).status, 401, "skewed, echoing a challenge never given out");
        const skewed = await post(OFFSET_MS, inTime.body.challenge);
        assert.equal(skewed.status, 200, "skewed, echoing the last challenge");
        assert.equal((await post(OFFSET_MS, inTime.body.challenge)).status, 401, "the same challenge again");
        assert.equal((await post(-OFFSET_MS, skewed.body.challenge)).status, 200, "behind as well as ahead");
    });
});
