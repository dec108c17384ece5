import { strict as assert } from "node:assert";
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { buildAgentBundle } from "../../agent/build";
import { activate, ActivationRefused, activationUnderway, ACTIVATING } from "../../agent/src/takeover/activation";
import { type AgentConfig, WITNESS_PATH } from "../../agent/contract";
import { LAST_CLAIM, primarySilenceSeconds } from "../../agent/src/heartbeat/primary-life";
import { signedHeaders } from "../../agent/src/heartbeat/signed-call";
import { signWitnessAnswer } from "../../agent/src/heartbeat/witness";
import { freePort, impostor, loopbackAgentConfig, runCommand, writeAgentConfig } from "./loopback-agent";

// A returning primary asks the standby before it starts anything (may-serve, a
// signed claim). These run the bundled agent on loopback: a real watchdog, the
// real may-serve command, no systemd units (the names given do not exist, so
// neither side counts as serving).

describe("the primary's claim to serve", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wirebot-claim-"));
    const bundle = path.join(dir, "wirebot-agent.js");
    let standby: AgentConfig;
    let primaryFile = "";
    let watchdog: ChildProcess | undefined;
    let watchdogLog = "";

    before(async () => {
        fs.writeFileSync(bundle, buildAgentBundle(), { mode: 0o755 });
        fs.writeFileSync(path.join(dir, "token"), "c".repeat(48), { mode: 0o600 });
        const watchdogPort = await freePort();
        const primaryPort = await freePort();
        standby = loopbackAgentConfig(dir, "standby", "standby", watchdogPort, primaryPort);
        const standbyFile = path.join(dir, "standby.json");
        fs.writeFileSync(standbyFile, JSON.stringify(standby));
        primaryFile = path.join(dir, "primary.json");
        fs.writeFileSync(primaryFile, JSON.stringify(loopbackAgentConfig(dir, "primary", "primary", primaryPort, watchdogPort)));
        watchdog = spawn(process.execPath, [bundle, "watchdog"], { env: { ...process.env, WIREBOT_AGENT_CONFIG: standbyFile }, stdio: ["ignore", "pipe", "pipe"] });
        watchdog.stdout!.on("data", (d) => (watchdogLog += d));
        watchdog.stderr!.on("data", (d) => (watchdogLog += d));
        const deadline = Date.now() + 8000;
        while (!watchdogLog.includes("expecting heartbeats")) {
            if (Date.now() > deadline) throw new Error(`the watchdog did not start: ${watchdogLog}`);
            await new Promise((r) => setTimeout(r, 100));
        }
    });

    after(() => watchdog?.kill());

    const mayServe = () => spawnSync(process.execPath, [bundle, "may-serve", "wirebot-scoreboard.service"], { env: { ...process.env, WIREBOT_AGENT_CONFIG: primaryFile }, encoding: "utf8" });
    const marker = (pid: number) => fs.writeFileSync(path.join(standby.stateDir, ACTIVATING), JSON.stringify({ pid, at: new Date().toISOString(), reason: "test" }));

    it("is granted while the standby neither serves nor activates, and counts as a sign of life there", () => {
        const result = mayServe();
        assert.equal(result.status, 0, result.stderr);
        assert.match(result.stdout, /the standby does not serve/);
        const claim = JSON.parse(fs.readFileSync(path.join(standby.stateDir, LAST_CLAIM), "utf8"));
        assert.equal(claim.unit, "wirebot-scoreboard.service");
        const silence = primarySilenceSeconds(standby, Date.now());
        assert.ok(silence !== null && silence < 2, `silence ${silence}`);
    });

    it("is refused while an activation runs on the standby", async () => {
        marker(process.pid);
        try {
            assert.equal(activationUnderway(standby), true);
            const result = mayServe();
            assert.equal(result.status, 1);
            assert.match(result.stderr, /the standby is taking over right now/);
        } finally {
            fs.rmSync(path.join(standby.stateDir, ACTIVATING), { force: true });
        }
        // The watchdog's log arrives over a pipe, read while this test waits.
        const expected = /refused the primary's claim to start wirebot-scoreboard\.service: an activation is under way/;
        for (let n = 0; n < 50 && !expected.test(watchdogLog); n++) await new Promise((r) => setTimeout(r, 100));
        assert.match(watchdogLog, expected);
    });

    it("ignores the marker of an activation whose process is gone", () => {
        const gone = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
        marker(Number(gone.stdout));
        try {
            assert.equal(activationUnderway(standby), false);
            assert.equal(mayServe().status, 0);
        } finally {
            fs.rmSync(path.join(standby.stateDir, ACTIVATING), { force: true });
        }
    });

    it("is refused unsigned or forged, and such a claim is no sign of life", async () => {
        fs.rmSync(path.join(standby.stateDir, LAST_CLAIM), { force: true });
        const url = `http://127.0.0.1:${standby.listen.port}/claim`;
        const forged = await fetch(url, {
            method: "POST",
            headers: { ...signedHeaders("c".repeat(48), "POST", "/claim", `127.0.0.1:${standby.listen.port}`, "{}"), "x-wirebot-signature": "v2=" + "0".repeat(64) },
            body: JSON.stringify({ unit: "x" }),
        });
        assert.equal(forged.status, 401);
        assert.equal((await fetch(url, { method: "POST", body: "{}" })).status, 401);
        assert.equal(fs.existsSync(path.join(standby.stateDir, LAST_CLAIM)), false);
    });

});

describe("a primary whose standby gives no yes", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wirebot-lone-"));
    const bundle = path.join(dir, "wirebot-agent.js");
    const closers: (() => void)[] = [];
    let nobodyListens = 0;
    before(async () => {
        fs.writeFileSync(bundle, buildAgentBundle(), { mode: 0o755 });
        fs.writeFileSync(path.join(dir, "token"), "c".repeat(48), { mode: 0o600 });
        nobodyListens = await freePort();
    });
    after(() => closers.forEach((close) => close()));

    /** A primary whose standby is at `standbyPort` (by default where nothing listens), with the witness at `witnessUrl` (the operator's, unless `signed`). */
    const primary = (name: string, witnessUrl: string | null, standbyPort = nobodyListens, signed = false) =>
        writeAgentConfig(dir, name, { ...loopbackAgentConfig(dir, name, "primary", 1, standbyPort), witness: witnessUrl === null ? null : { url: witnessUrl, signed } });
    const witness = async (status: number, body: unknown) => {
        const server = await impostor(() => body, undefined, status);
        closers.push(server.close);
        return server.url;
    };

    it("starts nothing when the standby cannot be asked and no witness is configured, until the operator overrides", async () => {
        const config = primary("no-witness", null);
        const refused = await runCommand(bundle, config, "may-serve", "wirebot-scoreboard.service");
        assert.equal(refused.status, 1, refused.stdout);
        assert.match(refused.stderr, /the standby cannot be asked \(.*ECONNREFUSED.*\), and no witness is configured \(agent\.witnessUrl\) .*; not starting: .*wirebot-failover override-serve/);
        const override = await runCommand(bundle, config, "override-serve");
        assert.equal(override.status, 0, override.stderr);
        const allowed = await runCommand(bundle, config, "may-serve", "wirebot-scoreboard.service");
        assert.equal(allowed.status, 0, allowed.stderr);
        assert.match(allowed.stdout, /starting under the operator's override \(until /);
    });

    it("asks the witness when the standby cannot be asked: starts only when it shows nobody else serving", async () => {
        const outcomes = await Promise.all([
            runCommand(bundle, primary("nobody", await witness(530, "error code: 1033")), "may-serve"),
            runCommand(bundle, primary("self", await witness(200, { host: os.hostname() })), "may-serve"),
            runCommand(bundle, primary("standby-serves", await witness(200, { host: "wirebot-standby" })), "may-serve"),
            runCommand(bundle, primary("witness-error", await witness(500, { error: "boom" })), "may-serve"),
            runCommand(bundle, primary("witness-garbled", await witness(200, { ok: true })), "may-serve"),
            runCommand(bundle, primary("witness-down", `http://127.0.0.1:${nobodyListens}/`), "may-serve"),
        ]);
        assert.deepEqual(
            outcomes.map((o) => o.status),
            [0, 0, 1, 1, 1, 1],
            outcomes.map((o) => o.stdout + o.stderr).join("\n"),
        );
        assert.match(outcomes[0].stdout, /the witness shows nobody serving/);
        assert.match(outcomes[2].stderr, /the witness shows wirebot-standby serving; this host stays off/);
        assert.match(outcomes[3].stderr, /the witness cannot tell who serves \(HTTP 500\); not starting: .*override-serve/);
        assert.match(outcomes[4].stderr, /the witness cannot tell who serves \(the answer names no serving host/);
        assert.match(outcomes[5].stderr, /the witness cannot tell who serves \(no answer: /);
    });

    it("asks the tunnel's signed witness the same way: only an answer that verifies for its question names a host", async () => {
        /** The witness route answering for `host`, signed with `token`, as that host's agent would. */
        const signedBy = async (host: string, token: string) => {
            const server = await impostor((url) => {
                const challenge = new URL(url, "http://double").searchParams.get("challenge") ?? "";
                const at = new Date().toISOString();
                return { host, serving: true, challenge, at, signature: signWitnessAnswer(token, host, true, challenge, at) };
            });
            closers.push(server.close);
            return `${server.url.replace(/\/$/, "")}${WITNESS_PATH}`;
        };
        const token = "c".repeat(48);
        const outcomes = await Promise.all([
            runCommand(bundle, primary("signed-nobody", await witness(530, "error code: 1033"), nobodyListens, true), "may-serve"),
            runCommand(bundle, primary("signed-self", await signedBy(os.hostname(), token), nobodyListens, true), "may-serve"),
            runCommand(bundle, primary("signed-standby", await signedBy("wirebot-standby", token), nobodyListens, true), "may-serve"),
            runCommand(bundle, primary("signed-forged", await signedBy(os.hostname(), "f".repeat(48)), nobodyListens, true), "may-serve"),
            runCommand(bundle, primary("signed-unsigned", await witness(200, { host: os.hostname() }), nobodyListens, true), "may-serve"),
        ]);
        assert.deepEqual(
            outcomes.map((o) => o.status),
            [0, 0, 1, 1, 1],
            outcomes.map((o) => o.stdout + o.stderr).join("\n"),
        );
        assert.match(outcomes[0].stdout, /the witness shows nobody serving/);
        assert.match(outcomes[1].stdout, /the witness shows this host serving/);
        assert.match(outcomes[2].stderr, /the witness shows wirebot-standby serving; this host stays off/);
        assert.match(outcomes[3].stderr, /the witness cannot tell who serves \(the answer's signature is not the heartbeat token's \(possible tampering, .*\)\); not starting/);
        assert.match(outcomes[3].stdout, /^witness: .*possible tampering/m);
        assert.match(outcomes[4].stderr, /the witness cannot tell who serves \(the answer is not signed: .*possible tampering\); not starting/);
    });

    it("starts nothing when the standby refuses the claim's signature or fails, whatever the witness says", async () => {
        const nobody = await witness(530, "");
        for (const status of [401, 500]) {
            const standby = await impostor(() => ({ error: "rejected" }), undefined, status);
            closers.push(standby.close);
            const result = await runCommand(bundle, primary(`standby-${status}`, nobody, standby.port), "may-serve");
            assert.equal(result.status, 1, result.stdout);
            assert.match(result.stderr, new RegExp(`the answer to POST /claim \\(HTTP ${status}\\) is not signed by the peer agent.*; not starting`));
        }
    });

    it("does not fail back onto a standby it cannot ask, unless the witness shows nobody serving (and the operator gave up the standby's writes)", async () => {
        const refused = await runCommand(bundle, primary("flip-no-witness", null), "flip", "serve");
        assert.equal(refused.status, 1, refused.stdout);
        assert.match(refused.stderr, /the standby cannot be asked .*no witness is configured.*not starting: .*override-serve/);
        const nobody = primary("flip-nobody", await witness(530, ""));
        // Nobody serves, but the standby may hold writes the primary lacks: only the operator gives those up.
        const unheard = await runCommand(bundle, nobody, "flip", "serve");
        assert.equal(unheard.status, 1, unheard.stdout);
        assert.match(unheard.stderr, /the standby cannot be asked .*; the witness shows nobody serving, but the standby may have served.*wirebot-failover forget-standby/);
        assert.equal((await runCommand(bundle, nobody, "forget-standby")).status, 0);
        const served = await runCommand(bundle, nobody, "flip", "serve");
        assert.equal(served.status, 0, served.stderr);
        assert.match(served.stdout, /the standby cannot be asked .*; the witness shows nobody serving; serving without its writes/);
    });

    it("does not fail back on the operator's forget-standby alone while the witness shows the standby serving", async () => {
        const config = primary("flip-standby-serves", await witness(200, { host: "wirebot-standby" }));
        assert.equal((await runCommand(bundle, config, "forget-standby")).status, 0);
        const refused = await runCommand(bundle, config, "flip", "serve");
        assert.equal(refused.status, 1, refused.stdout);
        assert.match(refused.stderr, /the witness shows wirebot-standby serving; this host stays off .*the operator's forget-standby of .* stands for the next flip/);
    });
});

describe("an activation that is not the primary's own request", () => {
    it("is refused while the primary's last claim or heartbeat is within the miss threshold, and leaves no marker", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wirebot-guard-"));
        const config = loopbackAgentConfig(dir, "standby", "standby", 1, 2);
        fs.mkdirSync(config.stateDir, { recursive: true });
        fs.writeFileSync(path.join(config.stateDir, LAST_CLAIM), JSON.stringify({ receivedAt: new Date(Date.now() - 1000).toISOString(), unit: "x" }));
        await assert.rejects(activate(config, "test", true, { automatic: true, primaryMustBeSilent: true }), (err: Error) => {
            assert.ok(err instanceof ActivationRefused);
            assert.match(err.message, /the primary showed life 1\.\d s ago/);
            return true;
        });
        assert.equal(fs.existsSync(path.join(config.stateDir, ACTIVATING)), false);
        assert.equal(activationUnderway(config), false);
    });
});
