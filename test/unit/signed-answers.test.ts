import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { buildAgentBundle } from "../../agent/build";
import { HOST_COMMANDS } from "../../agent/contract";
import { signAnswer } from "../../agent/src/heartbeat/heartbeat";
import { freePort, impostor, loopbackAgentConfig, onThePath, runCommand, RunningAgent, startAgent, startWatchdog, waitFor, writeAgentConfig } from "./loopback-agent";

// The primary acts on the standby's answers: "do you serve?" before a failback,
// the answer to its claim before a service starts, the heartbeat's reply. An
// answer that is not the standby's own, signed for that request, is never a
// yes. The bundled agents on loopback; an impostor answers in the standby's
// place, or someone on the path changes the real answer.

const TOKEN = "s".repeat(48);
const forged = (view: object) => JSON.stringify({ serving: false, activating: false, takeover: null, handback: null, ...view });
const unmerged = { id: "export-1", at: "2026-11-25T03:00:00.000Z", exported: [], merged: false };

describe("the standby's answers", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wirebot-answers-"));
    const bundle = path.join(dir, "wirebot-agent.js");
    const running: RunningAgent[] = [];
    const closers: (() => void)[] = [];
    /** The path from the primary to the standby, honest until a test tampers with it. */
    let wire: Awaited<ReturnType<typeof onThePath>>;
    /** The path whose answer is changed on the way, if any. */
    let tamper: string | null = null;

    before(async () => {
        fs.writeFileSync(bundle, buildAgentBundle(), { mode: 0o755 });
        fs.writeFileSync(path.join(dir, "token"), TOKEN, { mode: 0o600 });
        const watchdogPort = await freePort();
        wire = await onThePath(watchdogPort, (p, body) => (tamper === p ? (p === "/serving" ? forged({}) : JSON.stringify({ ...JSON.parse(body), handback: null })) : body));
        closers.push(wire.close);
        const standby = { ...loopbackAgentConfig(dir, "standby", "standby", watchdogPort, 1), calledAt: { address: "127.0.0.1", port: wire.port } };
        fs.mkdirSync(standby.stateDir, { recursive: true });
        // The standby served and gave the role back: its export waits to be merged.
        fs.writeFileSync(path.join(standby.stateDir, "handback.json"), JSON.stringify(unmerged));
        // The failback has the standby stop and hand back: its units are the stand-in systemctl's (test/unit/fakes).
        const systemd = { PATH: `${path.join(__dirname, "fakes")}:${process.env.PATH}`, FAKE_SYSTEMD_DIR: path.join(dir, "systemd") };
        running.push(await startWatchdog(bundle, writeAgentConfig(dir, "standby", standby), [], systemd));
    });
    after(async () => {
        closers.forEach((close) => close());
        await Promise.all(running.map((a) => a.stop()));
    });

    /** The primary's agent calling the standby at `port`. */
    const primaryAt = (name: string, port: number) => writeAgentConfig(dir, name, loopbackAgentConfig(dir, name, "primary", 1, port));
    const run = (config: string, ...args: string[]) => runCommand(bundle, config, ...args);
    const signedWith = (token: string) => (req: http.IncomingMessage, status: number, body: string) => {
        const at = new Date().toISOString();
        return { "x-wirebot-signature": signAnswer(token, String(req.headers["x-wirebot-nonce"]), status, at, body), "x-wirebot-timestamp": at };
    };

    it("lead a failback to the merge when the standby signed them", async (t) => {
        if (fs.existsSync(HOST_COMMANDS.fileSync)) return t.skip(`${HOST_COMMANDS.fileSync} exists on this machine: the merge would pull for real`);
        const result = await run(primaryAt("primary-direct", wire.port), "flip", "serve");
        assert.equal(result.status, 1);
        // No wirebot-file-sync on this machine: the pull of the export, the merge's first step, was attempted.
        assert.match(result.stderr, /Command failed: \/usr\/local\/sbin\/wirebot-file-sync pull outbox .*\/inbox\/export-1\n.*No such file or directory/);
    });

    it("changed on the way to say nothing is unmerged: the failback refuses instead of skipping the merge", async () => {
        tamper = "/serving";
        const result = await run(primaryAt("primary-tampered", wire.port), "flip", "serve");
        tamper = null;
        assert.equal(result.status, 1, result.stdout);
        assert.match(result.stderr, /the standby's answer to "do you serve\?" cannot be trusted \(the answer to GET \/serving \(HTTP 200\) is not signed by the peer agent for this request \(bad signature\); it is not trusted\)/);
    });

    it("to the hand-back, changed on the way to say there is no export, make the failback refuse", async () => {
        tamper = "/deactivate";
        const result = await run(primaryAt("primary-tampered-handback", wire.port), "flip", "serve");
        tamper = null;
        assert.equal(result.status, 1, result.stdout);
        assert.match(result.stderr, /wirebot-failover: standby \/deactivate: the answer to POST \/deactivate \(HTTP 200\) is not signed by the peer agent for this request \(bad signature\); it is not trusted\n/);
        assert.doesNotMatch(result.stdout, /nothing unmerged/);
    });

    it("from an impostor, unsigned or signed with another token, make the failback refuse", async () => {
        for (const sign of [undefined, signedWith("x".repeat(48))]) {
            const fake = await impostor(() => JSON.parse(forged({})), sign);
            closers.push(fake.close);
            const result = await run(primaryAt("primary-impostor", fake.port), "flip", "serve");
            assert.equal(result.status, 1, result.stdout);
            assert.match(result.stderr, /cannot be trusted .*not signed by the peer agent/);
        }
    });

    it("granting a claim unsigned start nothing", async () => {
        const fake = await impostor(() => ({ granted: true, serving: false, activating: false, takeover: null }));
        closers.push(fake.close);
        const result = await run(primaryAt("primary-claim", fake.port), "may-serve", "wirebot-scoreboard.service");
        assert.equal(result.status, 1, result.stdout);
        assert.match(result.stderr, /the answer to POST \/claim \(HTTP 200\) is not signed by the peer agent/);
    });

    it("to a heartbeat, unsigned, do not count as the standby reached", async () => {
        const fake = await impostor(() => ({ replicas: {} }));
        closers.push(fake.close);
        const config = loopbackAgentConfig(dir, "primary-beat", "primary", await freePort(), fake.port);
        running.push(startAgent(bundle, "replicator", writeAgentConfig(dir, "primary-beat", config)));
        const sent = await waitFor("a heartbeat sent", () => {
            try {
                return JSON.parse(fs.readFileSync(path.join(config.stateDir, "last-heartbeat-sent.json"), "utf8")) as { ok: boolean; error?: string };
            } catch {
                return undefined;
            }
        });
        assert.equal(sent.ok, false);
        assert.match(sent.error ?? "", /the answer to POST \/heartbeat \(HTTP 200\) is not signed by the peer agent/);
    });
});
