import { strict as assert } from "node:assert";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { buildAgentBundle } from "../../agent/build";
import { HOST_COMMANDS, WITNESS_PATH } from "../../agent/contract";
import { askWitness, checkSignedAnswer, decide, signWitnessAnswer, WitnessAnswer } from "../../agent/src/heartbeat/witness";
import { freePort, impostor, loopbackAgentConfig, RunningAgent, startAgent, startWatchdog, waitFor, writeAgentConfig } from "./loopback-agent";

/** The operator's own witness: a JSON answer naming `host`, unsigned. */
const unsigned = (url: string) => ({ url, signed: false });
/** The tunnel's witness route: answers signed with the heartbeat token over each question's challenge. */
const signed = (url: string) => ({ url, signed: true });

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
            askWitness(unsigned(await serve(530, "error code: 1033")), ANSWERS_WITHIN_MS),
            askWitness(unsigned(await serve(200, { host: "wirebot-primary" })), ANSWERS_WITHIN_MS),
            askWitness(unsigned(await serve(200, { ok: true })), ANSWERS_WITHIN_MS),
            askWitness(unsigned(await serve(200, "<html>maintenance</html>")), ANSWERS_WITHIN_MS),
            askWitness(unsigned(await serve(502, "bad gateway")), ANSWERS_WITHIN_MS),
            askWitness(unsigned(await serve(500, { host: "wirebot-primary" })), ANSWERS_WITHIN_MS),
            askWitness(unsigned(`http://127.0.0.1:${hangPort}/`), 500),
            askWitness(unsigned(`http://127.0.0.1:${await freePort()}/`), ANSWERS_WITHIN_MS),
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
        const config = { ...loopbackAgentConfig(dir, name, "standby", await freePort(), 1), missThreshold: 1, autoActivate: true, witness: unsigned(witnessUrl) };
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

describe("the tunnel's witness route", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wirebot-witness-route-"));
    const bundle = path.join(dir, "wirebot-agent.js");
    const TOKEN = "r".repeat(48);
    const OTHER_TOKEN = "o".repeat(48);
    // The agents' units are the stand-in systemctl's (test/unit/fakes): the standby's connector is up, the primary's is not.
    const systemd = { PATH: `${path.join(__dirname, "fakes")}:${process.env.PATH}`, FAKE_SYSTEMD_DIR: path.join(dir, "systemd") };
    const running: RunningAgent[] = [];
    const closers: (() => void)[] = [];
    let standbyPort = 0;
    let primaryPort = 0;
    const routeOf = (port: number) => `http://127.0.0.1:${port}${WITNESS_PATH}`;
    const challenge = () => crypto.randomBytes(32).toString("hex");

    before(async () => {
        fs.writeFileSync(bundle, buildAgentBundle(), { mode: 0o755 });
        fs.writeFileSync(path.join(dir, "token"), TOKEN, { mode: 0o600 });
        fs.mkdirSync(systemd.FAKE_SYSTEMD_DIR);
        fs.writeFileSync(path.join(systemd.FAKE_SYSTEMD_DIR, "standby-connector.service.active"), "active\n");
        standbyPort = await freePort();
        primaryPort = await freePort();
        const standby = { ...loopbackAgentConfig(dir, "standby", "standby", standbyPort, primaryPort), units: { services: [], connector: "standby-connector.service" } };
        const primary = { ...loopbackAgentConfig(dir, "primary", "primary", primaryPort, standbyPort), units: { services: [], connector: "primary-connector.service" } };
        running.push(await startWatchdog(bundle, writeAgentConfig(dir, "standby", standby), [], systemd));
        const replicator = startAgent(bundle, "replicator", writeAgentConfig(dir, "primary", primary), [], systemd);
        running.push(replicator);
        await waitFor(`the replicator to listen: ${replicator.output()}`, () => (replicator.output().includes("status API on") ? true : undefined));
    });
    after(async () => {
        closers.forEach((close) => close());
        await Promise.all(running.map((a) => a.stop()));
    });

    /** Answers the witness question as an agent would: for `host`, signed with `token`, its time `offsetMs` off. */
    const signingDouble = async (host: string, token: string, offsetMs = 0) => {
        const server = await impostor((url) => {
            const asked = new URL(url, "http://double").searchParams.get("challenge") ?? "";
            const at = new Date(Date.now() + offsetMs).toISOString();
            return { host, serving: true, challenge: asked, at, signature: signWitnessAnswer(token, host, true, asked, at) };
        });
        closers.push(server.close);
        return routeOf(server.port);
    };
    const answering = async (status: number, body: unknown) => {
        const server = await impostor(() => body, undefined, status);
        closers.push(server.close);
        return routeOf(server.port);
    };

    it("is answered by both agents: which host, whether its connector serves, signed over the challenge", async () => {
        for (const [port, serving] of [
            [standbyPort, true],
            [primaryPort, false],
        ] as const) {
            const asked = challenge();
            const response = await fetch(`${routeOf(port)}?challenge=${asked}`);
            const text = await response.text();
            assert.equal(response.status, 200, text);
            assert.equal(response.headers.get("content-type"), "application/json");
            assert.equal(response.headers.get("cache-control"), "no-store");
            const answer = JSON.parse(text) as { host: string; serving: boolean; challenge: string; at: string; signature: string };
            assert.deepEqual(Object.keys(answer), ["host", "serving", "challenge", "at", "signature"]);
            assert.equal(answer.host, os.hostname());
            assert.equal(answer.serving, serving);
            assert.equal(answer.challenge, asked);
            assert.ok(Math.abs(Date.parse(answer.at) - Date.now()) < 10_000, answer.at);
            // HMAC-SHA256 with the heartbeat token over its own label, so it passes for no heartbeat, request or answer of the agents.
            const over = ["wirebot-witness-answer", answer.host, String(serving), asked, answer.at].join("\n");
            assert.equal(answer.signature, `v2=${crypto.createHmac("sha256", TOKEN).update(over).digest("hex")}`);
            assert.equal(answer.signature, signWitnessAnswer(TOKEN, answer.host, serving, asked, answer.at));
            const checked = checkSignedAnswer(text, asked, TOKEN, Date.now());
            if (serving) assert.deepEqual(checked, { known: true, servingHost: os.hostname() });
            else assert.match(checked.known ? "" : checked.why, /says its connector is not active/);
        }
        assert.ok(running.every((agent) => !agent.output().includes(TOKEN)), "the token is never logged");
    });

    it("answers nothing but a GET with one challenge of 32 to 128 hex digits", async () => {
        const asked = challenge();
        for (const method of ["POST", "PUT", "DELETE"]) {
            const response = await fetch(`${routeOf(standbyPort)}?challenge=${asked}`, { method, body: method === "DELETE" ? undefined : "{}" });
            const text = await response.text();
            assert.equal(response.status, 405, `${method}: ${text}`);
            assert.equal(response.headers.get("allow"), "GET");
            assert.doesNotMatch(text, new RegExp(`${os.hostname()}|signature`));
        }
        for (const query of ["", "?", "?challenge=", "?challenge=abc", `?challenge=${"z".repeat(64)}`, `?challenge=${"a".repeat(31)}`, `?challenge=${"a".repeat(129)}`, `?challenge=${asked}&challenge=${asked}`, `?nonce=${asked}`]) {
            const response = await fetch(`${routeOf(primaryPort)}${query}`);
            const text = await response.text();
            assert.equal(response.status, 400, `${query}: ${text}`);
            assert.doesNotMatch(text, new RegExp(`${os.hostname()}|signature`));
        }
        for (const good of ["a".repeat(32), "A0".repeat(64), `${asked}&other=1`]) {
            assert.equal((await fetch(`${routeOf(standbyPort)}?challenge=${good}`)).status, 200, good);
        }
        // The rest of the agent is where it was.
        assert.equal((await fetch(`http://127.0.0.1:${standbyPort}/health`)).status, 200);
        assert.equal((await fetch(`http://127.0.0.1:${standbyPort}${WITNESS_PATH}/x?challenge=${asked}`)).status, 404);
    });

    it("names the serving host only from an answer that verifies, for this question, in time", async () => {
        const MS = 5000;
        // A recording of a real answer, given again to every later question.
        const recorded = await (await fetch(`${routeOf(standbyPort)}?challenge=${challenge()}`)).text();
        const hang = http.createServer(() => undefined);
        const hangPort = await new Promise<number>((resolve) => hang.listen(0, "127.0.0.1", () => resolve((hang.address() as net.AddressInfo).port)));
        closers.push(() => (hang.closeAllConnections(), hang.close()));
        const answers = await Promise.all([
            askWitness(signed(routeOf(standbyPort)), MS, TOKEN),
            askWitness(signed(await signingDouble("wirebot-primary", TOKEN)), MS, TOKEN),
            askWitness(signed(await answering(530, "error code: 1033")), MS, TOKEN),
            askWitness(signed(routeOf(standbyPort)), MS, OTHER_TOKEN),
            askWitness(signed(await signingDouble("wirebot-primary", OTHER_TOKEN)), MS, TOKEN),
            askWitness(signed(await answering(200, recorded)), MS, TOKEN),
            askWitness(signed(await answering(200, { host: "wirebot-primary" })), MS, TOKEN),
            askWitness(signed(await signingDouble("wirebot-primary", TOKEN, -5 * 60_000)), MS, TOKEN),
            askWitness(signed(routeOf(primaryPort)), MS, TOKEN),
            askWitness(signed(await answering(502, "error code: 502")), MS, TOKEN),
            askWitness(signed(await answering(200, "<html>it works</html>")), MS, TOKEN),
            askWitness(signed(`http://127.0.0.1:${hangPort}${WITNESS_PATH}`), 500, TOKEN),
            askWitness(signed(routeOf(await freePort())), MS, TOKEN),
        ]);
        assert.deepEqual(answers.slice(0, 3), [
            { known: true, servingHost: os.hostname() },
            { known: true, servingHost: "wirebot-primary" },
            { known: true, servingHost: null },
        ]);
        const why = answers.slice(3).map((a) => (a.known ? assert.fail(JSON.stringify(a)) : a.why));
        assert.match(why[0], /^the answer's signature is not the heartbeat token's \(possible tampering, or the hosts hold different tokens\)$/);
        assert.match(why[1], /^the answer's signature is not the heartbeat token's/);
        assert.match(why[2], /^the answer is signed for another challenge than this question's: a replayed answer, possible tampering$/);
        assert.match(why[3], /^the answer is not signed: .*possible tampering$/);
        assert.match(why[4], /^wirebot-primary answered, signed, with a time 300 s behind this host's clock/);
        assert.match(why[5], new RegExp(`^${os.hostname()} answered through the tunnel but says its connector is not active$`));
        assert.deepEqual(why.slice(6).map((w) => w.replace(/: .*/, "")), ["HTTP 502", "the answer is not JSON", "no answer", "no answer"]);
    });

    it("lets the watchdog take over by itself when it shows nobody serving, and only then", async () => {
        // Past the witness an activation runs the host's takeover commands: the one that goes ahead only where they are absent.
        const nobodyToo = !fs.existsSync(HOST_COMMANDS.placeFiles);
        const watchdog = async (name: string, witnessUrl: string) => {
            const config = { ...loopbackAgentConfig(dir, name, "standby", await freePort(), 1), missThreshold: 1, autoActivate: true, witness: signed(witnessUrl) };
            const agent = await startWatchdog(bundle, writeAgentConfig(dir, name, config));
            running.push(agent);
            return agent;
        };
        const agents = await Promise.all([
            watchdog("primary-serves", await signingDouble("wirebot-primary", TOKEN)),
            watchdog("forged", await signingDouble("wirebot-primary", OTHER_TOKEN)),
            watchdog("agent-down", await answering(502, "error code: 502")),
            ...(nobodyToo ? [watchdog("nobody", await answering(530, "error code: 1033"))] : []),
        ]);
        const outcomes = await Promise.all(
            agents.map((agent) => waitFor("the watchdog to trip and ask the witness", () => /watchdog: (not activating|activation failed|took over).*/.exec(agent.output())?.[0])),
        );
        assert.equal(outcomes[0], "watchdog: not activating: the witness shows the primary still serving; not activating (a partition, not a dead primary)");
        assert.match(outcomes[1], /^watchdog: not activating: the witness cannot tell: the answer's signature is not the heartbeat token's \(possible tampering, .*\), which is no proof that the primary is gone/);
        assert.match(agents[1].output(), /^witness: the answer's signature is not the heartbeat token's \(possible tampering, .*\) \(http:\/\/127\.0\.0\.1:\d+\/\.well-known\/wirebot\/serving\)$/m);
        assert.match(outcomes[2], /^watchdog: not activating: the witness cannot tell: HTTP 502, which is no proof/);
        if (nobodyToo) {
            assert.match(agents[3].output(), /activate: witness done in \d+ ms \(serving: nobody\)/);
            assert.match(outcomes[3], /^watchdog: activation failed: .*wirebot-place-files/);
        }
    });
});
