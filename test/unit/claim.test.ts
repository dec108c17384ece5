import { strict as assert } from "node:assert";
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { buildAgentBundle } from "../../agent/build";
import { activate, ActivationRefused, activationUnderway, ACTIVATING } from "../../agent/src/takeover/activation";
import type { AgentConfig } from "../../agent/contract";
import { LAST_CLAIM, primarySilenceSeconds } from "../../agent/src/heartbeat/primary-life";
import { signedHeaders } from "../../agent/src/heartbeat/signed-call";
import { freePort, loopbackAgentConfig } from "./loopback-agent";

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

    it("lets a primary start when the standby cannot be asked: the primary is the configured active side", () => {
        const lone = path.join(dir, "lone.json");
        fs.writeFileSync(lone, JSON.stringify(loopbackAgentConfig(dir, "lone", "primary", 1, 9)));
        const result = spawnSync(process.execPath, [bundle, "may-serve"], { env: { ...process.env, WIREBOT_AGENT_CONFIG: lone }, encoding: "utf8" });
        assert.equal(result.status, 0);
        assert.match(result.stdout, /the standby cannot be asked/);
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
