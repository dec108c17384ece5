import { strict as assert } from "node:assert";
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { buildAgentBundle } from "../../agent/build";
import { hostStatusSchema } from "../../agent/contract";
import { signRequest, verify } from "../../agent/src/heartbeat/heartbeat";
import { MissCounter } from "../../agent/src/heartbeat/miss-counter";
import { signedHeaders } from "../../agent/src/heartbeat/signed-call";
import { freePort, loopbackAgentConfig } from "./loopback-agent";

describe("miss counter", () => {
    it("counts whole intervals without a heartbeat and trips at the threshold", () => {
        const counter = new MissCounter(10_000, 3, 0);
        assert.equal(counter.misses(9_999), 0);
        assert.equal(counter.misses(10_000), 1);
        assert.equal(counter.tripped(29_999), false);
        assert.equal(counter.tripped(30_000), true);
    });

    it("starts over on a heartbeat", () => {
        const counter = new MissCounter(10_000, 3, 0);
        counter.heartbeat(25_000);
        assert.equal(counter.misses(34_000), 0);
        assert.equal(counter.misses(45_000), 2);
    });
});

describe("request signatures", () => {
    const token = "t".repeat(48);
    const at = "2026-11-25T03:00:00.000Z";
    const now = Date.parse(at);
    const request = { method: "POST", path: "/heartbeat", target: "198.51.100.20:8300", timestamp: at, nonce: "5".repeat(32), body: JSON.stringify({ seq: 1 }) };
    const signed = { ...request, signature: signRequest(token, request) };

    it("accept a good request", () => {
        assert.deepEqual(verify(token, signed, now, 25_000), { ok: true, skewMs: 0 });
    });
    it("reject a changed body, method, path, target or nonce", () => {
        const changes = [{ body: request.body + " " }, { method: "GET" }, { path: "/activate" }, { target: "198.51.100.21:8300" }, { nonce: "6".repeat(32) }];
        for (const change of changes) assert.deepEqual(verify(token, { ...signed, ...change }, now, 25_000), { ok: false, reason: "bad signature" }, JSON.stringify(change));
    });
    it("reject another token", () => {
        assert.deepEqual(verify(token, { ...request, signature: signRequest("x".repeat(48), request) }, now, 25_000), { ok: false, reason: "bad signature" });
    });
    it("tell a good signature on a skewed clock from a forgery", () => {
        assert.deepEqual(verify(token, signed, now + 60_000, 25_000), { ok: false, reason: "clock skew", skewMs: -60_000 });
    });
    it("reject an unsigned request", () => {
        assert.deepEqual(verify(token, { ...request }, now, 25_000), { ok: false, reason: "unsigned" });
    });
});

async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 8000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
        const value = probe();
        if (value !== undefined) return value;
        await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`timed out waiting for ${what}`);
}

describe("the bundled agent on loopback", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wirebot-agent-"));
    const bundle = path.join(dir, "wirebot-agent.js");
    fs.writeFileSync(bundle, buildAgentBundle(), { mode: 0o755 });
    fs.writeFileSync(path.join(dir, "token"), "k".repeat(48), { mode: 0o600 });
    const children: ChildProcess[] = [];
    after(() => children.forEach((c) => c.kill()));

    const writeConfig = (name: string, role: "primary" | "standby", listen: number, peer: number) => {
        const file = path.join(dir, `${name}.json`);
        fs.writeFileSync(file, JSON.stringify(loopbackAgentConfig(dir, name, role, listen, peer)));
        return file;
    };
    const start = (command: string, config: string) => {
        const child = spawn(process.execPath, [bundle, command], { env: { ...process.env, WIREBOT_AGENT_CONFIG: config }, stdio: ["ignore", "pipe", "pipe"] });
        let output = "";
        child.stdout!.on("data", (d) => (output += d));
        child.stderr!.on("data", (d) => (output += d));
        children.push(child);
        return () => output;
    };

    it("prints its usage", () => {
        const result = spawnSync(process.execPath, [bundle, "--help"], { encoding: "utf8" });
        assert.equal(result.status, 0);
        assert.match(result.stdout, /replicator/);
    });

    it("delivers signed heartbeats from the replicator to the watchdog, and rejects forged ones", async () => {
        const watchdogPort = await freePort();
        const statusPort = await freePort();
        const watchdogOut = start("watchdog", writeConfig("standby", "standby", watchdogPort, statusPort));
        await waitFor("the watchdog to listen", () => (watchdogOut().includes("expecting heartbeats") ? true : undefined));
        start("replicator", writeConfig("primary", "primary", statusPort, watchdogPort));
        const received = await waitFor("a heartbeat on the standby", () => {
            try {
                return JSON.parse(fs.readFileSync(path.join(dir, "standby-state", "last-heartbeat.json"), "utf8"));
            } catch {
                return undefined;
            }
        });
        assert.equal(received.heartbeat.role, "primary");
        assert.ok(received.heartbeat.seq >= 1);

        const forged = await fetch(`http://127.0.0.1:${watchdogPort}/heartbeat`, {
            method: "POST",
            headers: { ...signedHeaders("k".repeat(48), "POST", "/heartbeat", `127.0.0.1:${watchdogPort}`, "{}"), "x-wirebot-signature": "v2=" + "0".repeat(64) },
            body: JSON.stringify({ host: "attacker", seq: 1 }),
        });
        assert.equal(forged.status, 401);
        const unsigned = await fetch(`http://127.0.0.1:${watchdogPort}/heartbeat`, { method: "POST", body: "{}" });
        assert.equal(unsigned.status, 401);
        // The child's log arrives over a pipe: wait for it rather than race it.
        await waitFor("both rejections in the log", () => (/bad signature[\s\S]*unsigned/.test(watchdogOut()) ? true : undefined));
        assert.match(watchdogOut(), /rejected heartbeat from 127\.0\.0\.1: bad signature/);
        assert.match(watchdogOut(), /rejected heartbeat from 127\.0\.0\.1: unsigned/);
        assert.ok(!watchdogOut().includes("k".repeat(48)), "the token never reaches the log");

        const status = (await (await fetch(`http://127.0.0.1:${statusPort}/status`)).json()) as Record<string, unknown>;
        assert.equal(status.primary, true);
        assert.equal(status.standby_reachable, true);
    });

    it("prints each side's status as JSON for the operator's status command", () => {
        for (const [name, role] of [["primary", "primary"], ["standby", "standby"]] as const) {
            const result = spawnSync(process.execPath, [bundle, "status", "--json"], { encoding: "utf8", env: { ...process.env, WIREBOT_AGENT_CONFIG: path.join(dir, `${name}.json`) } });
            assert.equal(result.status, 0, result.stderr);
            const status = hostStatusSchema.parse(JSON.parse(result.stdout));
            assert.equal(status.role, role);
            assert.equal(status.heartbeat?.ok, true, `${name}: ${result.stdout}`);
            assert.ok((status.heartbeat?.ageSeconds ?? 99) < 5);
        }
    });
});
