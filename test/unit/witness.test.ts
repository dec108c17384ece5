import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { buildAgentBundle } from "../../agent/build";
import { HOST_COMMANDS } from "../../agent/contract";
import { askWitness, decide, WitnessAnswer } from "../../agent/src/heartbeat/witness";
import { freePort, impostor, loopbackAgentConfig, RunningAgent, startWatchdog, waitFor, writeAgentConfig } from "./loopback-agent";

// The rule: only a witness that says nobody serves lets the standby activate.
// Unreachable, a timeout, an error status or a malformed answer is "cannot
// tell", which is never taken for "the primary is gone".

describe("the witness's answer", () => {
    const closers: (() => void)[] = [];
    after(() => closers.forEach((close) => close()));
    const serve = async (status: number, body: unknown) => {
        const server = await impostor(() => body, undefined, status);
        closers.push(server.close);
        return server.url;
    };

    it("decides: nobody serving activates, another host is a partition, cannot tell does not activate", () => {
        const cases: [WitnessAnswer, string][] = [
            [{ known: true, servingHost: null }, "activate"],
            [{ known: true, servingHost: "wirebot-primary" }, "partition"],
            [{ known: true, servingHost: "wirebot-standby" }, "already-serving"],
            [{ known: false, why: "HTTP 500" }, "cannot-tell"],
        ];
        for (const [answer, decision] of cases) assert.equal(decide(answer, "wirebot-standby"), decision);
    });

    it("is known only as a host named in a 200, or as Cloudflare's 530 for no connector", async () => {
        // Generous for the servers that answer (a loaded machine is slow); the one that never answers meets its own short limit.
        const ANSWERS_WITHIN_MS = 5000;
        const hang = http.createServer(() => undefined);
        const hangPort = await new Promise<number>((resolve) => hang.listen(0, "127.0.0.1", () => resolve((hang.address() as net.AddressInfo).port)));
        closers.push(() => (hang.closeAllConnections(), hang.close()));
        const answers = await Promise.all([
            askWitness(await serve(530, "error code: 1033"), ANSWERS_WITHIN_MS),
            askWitness(await serve(200, { host: "wirebot-primary" }), ANSWERS_WITHIN_MS),
            askWitness(await serve(200, { ok: true }), ANSWERS_WITHIN_MS),
            askWitness(await serve(200, "<html>maintenance</html>"), ANSWERS_WITHIN_MS),
            askWitness(await serve(502, "bad gateway"), ANSWERS_WITHIN_MS),
            askWitness(await serve(500, { host: "wirebot-primary" }), ANSWERS_WITHIN_MS),
            askWitness(`http://127.0.0.1:${hangPort}/`, 500),
            askWitness(`http://127.0.0.1:${await freePort()}/`, ANSWERS_WITHIN_MS),
        ]);
        assert.deepEqual(answers.slice(0, 2), [
            { known: true, servingHost: null },
            { known: true, servingHost: "wirebot-primary" },
        ]);
        for (const answer of answers.slice(2)) assert.equal(answer.known, false, JSON.stringify(answer));
        assert.deepEqual(
            answers.slice(2).map((a) => (a.known ? "" : a.why.replace(/: .*/, ""))),
            ['the answer names no serving host ("host")', "the answer is not JSON", "HTTP 502", "HTTP 500", "no answer", "no answer"],
        );
    });
});

describe("the watchdog after missed heartbeats", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wirebot-witness-"));
    const bundle = path.join(dir, "wirebot-agent.js");
    const running: RunningAgent[] = [];
    const closers: (() => void)[] = [];
    before(() => {
        fs.writeFileSync(bundle, buildAgentBundle(), { mode: 0o755 });
        fs.writeFileSync(path.join(dir, "token"), "w".repeat(48), { mode: 0o600 });
    });
    after(async () => {
        closers.forEach((close) => close());
        await Promise.all(running.map((a) => a.stop()));
    });

    /** A watchdog that activates by itself after one missed heartbeat, asking the witness at `witnessUrl`; no primary ever sends it one. */
    const watchdog = async (name: string, witnessUrl: string) => {
        const config = { ...loopbackAgentConfig(dir, name, "standby", await freePort(), 1), missThreshold: 1, autoActivate: true, witnessUrl };
        const agent = await startWatchdog(bundle, writeAgentConfig(dir, name, config));
        running.push(agent);
        return agent;
    };
    const witness = async (status: number, body: unknown) => {
        const server = await impostor(() => body, undefined, status);
        closers.push(server.close);
        return server.url;
    };

    it("does not activate when the witness cannot be reached, fails or answers something malformed; goes ahead when it says nobody serves", async () => {
        // Past the witness an activation runs the host's takeover commands: the one that goes ahead only where they are absent.
        const nobodyToo = !fs.existsSync(HOST_COMMANDS.placeFiles);
        const agents = await Promise.all([
            watchdog("unreachable", `http://127.0.0.1:${await freePort()}/`),
            watchdog("failing", await witness(500, { error: "boom" })),
            watchdog("malformed", await witness(200, "<html>it works</html>")),
            ...(nobodyToo ? [watchdog("nobody", await witness(530, "error code: 1033"))] : []),
        ]);
        const outcomes = await Promise.all(
            agents.map((agent) => waitFor("the watchdog to trip and ask the witness", () => /watchdog: (not activating|activation failed|took over).*/.exec(agent.output())?.[0])),
        );
        for (const line of outcomes.slice(0, 3)) {
            assert.match(line, /^watchdog: not activating: the witness cannot tell: .*, which is no proof that the primary is gone; not activating\. If you know it is down: wirebot-failover activate --force on this host$/);
        }
        assert.match(outcomes[1], /cannot tell: HTTP 500/);
        assert.match(outcomes[2], /cannot tell: the answer is not JSON/);
        if (nobodyToo) {
            assert.match(agents[3].output(), /activate: witness done in \d+ ms \(serving: nobody\)/);
            assert.match(outcomes[3], /^watchdog: activation failed: .*wirebot-place-files/);
        }
    });
});
