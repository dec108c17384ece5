import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { buildAgentBundle } from "../../agent/build";
import { NonceJournal } from "../../agent/src/heartbeat/nonce-journal";
import { freePort, loopbackAgentConfig, onThePath, replay, RunningAgent, startAgent, startWatchdog, waitFor, writeAgentConfig } from "./loopback-agent";

// Someone on the path between the agents records their signed requests and
// sends them again: to another endpoint, or after the receiving agent restarted.
// The bundled agents on loopback; the recorder sits where the primary believes
// the standby is (the standby's calledAt), as it would on a real path.

describe("a signed request captured on the way", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wirebot-replay-"));
    const bundle = path.join(dir, "wirebot-agent.js");
    const running: RunningAgent[] = [];
    const closers: (() => void)[] = [];

    before(() => {
        fs.writeFileSync(bundle, buildAgentBundle(), { mode: 0o755 });
        fs.writeFileSync(path.join(dir, "token"), "r".repeat(48), { mode: 0o600 });
    });
    after(async () => {
        closers.forEach((close) => close());
        await Promise.all(running.map((a) => a.stop()));
    });

    /** A watchdog the primary calls through the recorder; the replicator sending it heartbeats. */
    async function pair(name: string, forward: boolean) {
        const watchdogPort = await freePort();
        const wire = await onThePath(forward ? watchdogPort : null);
        closers.push(wire.close);
        const standby = { ...loopbackAgentConfig(dir, `${name}-standby`, "standby", watchdogPort, 1), calledAt: { address: "127.0.0.1", port: wire.port } };
        const standbyFile = writeAgentConfig(dir, `${name}-standby`, standby);
        const watchdog = await startWatchdog(bundle, standbyFile);
        running.push(watchdog);
        const replicator = startAgent(bundle, "replicator", writeAgentConfig(dir, `${name}-primary`, loopbackAgentConfig(dir, `${name}-primary`, "primary", await freePort(), wire.port)));
        running.push(replicator);
        return { watchdogPort, wire, standby, standbyFile, watchdog, replicator };
    }

    it("is refused at /activate, /deactivate and /reseed when it was a heartbeat", async () => {
        const { watchdogPort, wire, watchdog, replicator } = await pair("endpoint", false);
        const beat = await waitFor("a heartbeat on the path", () => wire.captured[0]);
        await replicator.stop();
        const endpoints = ["/activate", "/deactivate", "/reseed"];
        const statuses = [];
        for (const endpoint of endpoints) statuses.push(await replay(beat, watchdogPort, endpoint));
        assert.deepEqual(statuses, [401, 401, 401]);
        for (const endpoint of endpoints) {
            await waitFor(`the refusal at ${endpoint} in the log`, () => (watchdog.output().includes(`rejected POST ${endpoint} from 127.0.0.1: bad signature`) ? true : undefined));
        }
        assert.equal(await replay(beat, watchdogPort), 200, "the same heartbeat is good where it was meant to go");
    });

    it("is refused when it was signed for another agent", async () => {
        const { watchdogPort, wire, replicator } = await pair("target", false);
        const beat = await waitFor("a heartbeat on the path", () => wire.captured[0]);
        await replicator.stop();
        const elsewhere = { ...beat, headers: { ...beat.headers, "x-wirebot-target": `127.0.0.1:${watchdogPort}` } };
        assert.equal(await replay(elsewhere, watchdogPort), 401, "the target is signed: naming this watchdog instead breaks the signature");
        const otherAgent = await freePort();
        const other = writeAgentConfig(dir, "other-standby", loopbackAgentConfig(dir, "other-standby", "standby", otherAgent, 1));
        const watchdog = await startWatchdog(bundle, other);
        running.push(watchdog);
        assert.equal(await replay(beat, otherAgent), 401);
        await waitFor("the refusal in the log", () => (watchdog.output().includes(`signed for another agent (127.0.0.1:${wire.port})`) ? true : undefined));
    });

    it("is refused after the receiving agent restarted", async () => {
        const { wire, standby, standbyFile, watchdog, replicator, watchdogPort } = await pair("restart", true);
        const taken = path.join(standby.stateDir, "last-heartbeat.json");
        const beat = await waitFor("a heartbeat taken by the watchdog", () => (fs.existsSync(taken) ? wire.captured[0] : undefined));
        await replicator.stop();
        await watchdog.stop();
        const again = await startWatchdog(bundle, standbyFile);
        running.push(again);
        assert.equal(await replay(beat, watchdogPort), 401);
        await waitFor("the refusal in the log", () => (again.output().includes("rejected heartbeat from 127.0.0.1: replayed") ? true : undefined));
    });
});

describe("the nonce journal", () => {
    it("keeps nonces across a reopening until they expire, and drops expired ones from the file", () => {
        const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "wirebot-nonces-")), "seen-nonces.log");
        const journal = new NonceJournal(file, 0);
        assert.equal(journal.firstUse("a".repeat(32), 1000, 0), true);
        assert.equal(journal.firstUse("a".repeat(32), 1000, 10), false);
        for (let n = 0; n < 100; n++) assert.equal(journal.firstUse(n.toString(16).padStart(32, "0"), 500, 0), true);
        const reopened = new NonceJournal(file, 600);
        assert.equal(reopened.firstUse("a".repeat(32), 2000, 600), false, "still within its time after a restart");
        assert.equal(reopened.firstUse("0".repeat(32), 2000, 600), true, "expired: taken again (its timestamp is refused by then anyway)");
        assert.ok(fs.readFileSync(file, "utf8").split("\n").length < 10, "expired nonces are not kept on disk");
    });
});
