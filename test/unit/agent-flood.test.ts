import { strict as assert } from "node:assert";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import type * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { buildAgentBundle } from "../../agent/build";
import { WITNESS_PATH } from "../../agent/contract";
import { GET_BURST, GetLimit } from "../../agent/src/core/rate-limit";
import type { Heartbeat } from "../../agent/src/heartbeat/heartbeat";
import { signedCall } from "../../agent/src/heartbeat/signed-call";
import { freePort, loopbackAgentConfig, RunningAgent, startAgent, startWatchdog, waitFor, writeAgentConfig } from "./loopback-agent";

// Anyone who reaches an agent's port may ask its unsigned GETs (status,
// health, metrics, the witness route, GET /serving before its signature is
// checked). A flood of them must not make systemctl run once per question,
// nor keep the standby from taking the primary's heartbeats.

const TOKEN = "f".repeat(48);
const CONNECTOR = "flood-connector.service";
const SERVICE = "flood-service.service";
const FLOOD_MS = 3000;

/** The stand-in systemctl's calls so far (test/unit/fakes/systemctl keeps one line per call). */
const callsIn = (systemd: string) => {
    try {
        return fs.readFileSync(path.join(systemd, "calls"), "utf8").split("\n").filter(Boolean).length;
    } catch {
        return 0;
    }
};

/** Waves of `perWave` concurrent GETs to each URL in turn, every 50 ms for `ms`: the statuses seen. */
async function flood(urls: string[], ms: number, perWave = 30): Promise<Map<number, number>> {
    const statuses = new Map<number, number>();
    const pending: Promise<void>[] = [];
    const end = Date.now() + ms;
    for (let wave = 0; Date.now() < end; wave++) {
        for (let i = 0; i < perWave; i++) {
            const url = urls[(wave * perWave + i) % urls.length];
            pending.push(
                fetch(url, { signal: AbortSignal.timeout(10_000) })
                    .then(async (r) => {
                        await r.arrayBuffer();
                        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
                    })
                    .catch(() => void statuses.set(0, (statuses.get(0) ?? 0) + 1)),
            );
        }
        await new Promise((r) => setTimeout(r, 50));
    }
    await Promise.all(pending);
    return statuses;
}

describe("an agent under a flood of unsigned GETs", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wirebot-flood-"));
    const bundle = path.join(dir, "wirebot-agent.js");
    const fakes = path.join(__dirname, "fakes");
    const systemdOf = (name: string) => path.join(dir, `${name}-systemd`);
    const running: RunningAgent[] = [];
    let standbyPort = 0;
    let primaryPort = 0;

    before(async () => {
        fs.writeFileSync(bundle, buildAgentBundle(), { mode: 0o755 });
        fs.writeFileSync(path.join(dir, "token"), TOKEN, { mode: 0o600 });
        for (const name of ["standby", "primary"]) fs.mkdirSync(systemdOf(name));
        fs.writeFileSync(path.join(systemdOf("standby"), `${CONNECTOR}.active`), "active\n");
        standbyPort = await freePort();
        primaryPort = await freePort();
        const units = { services: [SERVICE], connector: CONNECTOR };
        const env = (name: string) => ({ PATH: `${fakes}:${process.env.PATH}`, FAKE_SYSTEMD_DIR: systemdOf(name) });
        // The primary's replicator sends the watchdog a heartbeat every second throughout.
        const standby = { ...loopbackAgentConfig(dir, "standby", "standby", standbyPort, primaryPort), units };
        const primary = { ...loopbackAgentConfig(dir, "primary", "primary", primaryPort, standbyPort), units };
        running.push(await startWatchdog(bundle, writeAgentConfig(dir, "standby", standby), [], env("standby")));
        const replicator = startAgent(bundle, "replicator", writeAgentConfig(dir, "primary", primary), [], env("primary"));
        running.push(replicator);
        await waitFor(`the replicator to listen: ${replicator.output()}`, () => (replicator.output().includes("status API on") ? true : undefined));
    });
    after(async () => {
        await Promise.all(running.map((a) => a.stop()));
    });

    it("runs systemctl at most once a second however many ask, and still answers a heartbeat promptly", async () => {
        const challenge = () => crypto.randomBytes(32).toString("hex");
        const urlsOf = (port: number, paths: string[]) => paths.map((p) => `http://127.0.0.1:${port}${p}`);
        const standbyUrls = urlsOf(standbyPort, ["/metrics", "/health", "/serving", `${WITNESS_PATH}?challenge=${challenge()}`]);
        const primaryUrls = urlsOf(primaryPort, ["/metrics", "/status", "/health", `${WITNESS_PATH}?challenge=${challenge()}`]);
        const before = { standby: callsIn(systemdOf("standby")), primary: callsIn(systemdOf("primary")) };
        const started = Date.now();

        // The primary's heartbeat, signed as its replicator signs it, five times a second while the flood lasts.
        const latencies: number[] = [];
        const beats = (async () => {
            for (let seq = 1; Date.now() - started < FLOOD_MS; seq++) {
                const beat: Heartbeat = { host: "flood-primary", role: "primary", sentAt: new Date().toISOString(), seq, services: {} };
                const sent = Date.now();
                const answer = await signedCall(TOKEN, { address: "127.0.0.1", port: standbyPort }, "POST", "/heartbeat", beat, 10_000);
                latencies.push(Date.now() - sent);
                assert.equal(answer.status, 200, JSON.stringify(answer.body));
                await new Promise((r) => setTimeout(r, 200));
            }
        })();
        const [standbyStatuses, primaryStatuses] = await Promise.all([flood(standbyUrls, FLOOD_MS), flood(primaryUrls, FLOOD_MS), beats]);
        const elapsed = Date.now() - started;
        const calls = { standby: callsIn(systemdOf("standby")) - before.standby, primary: callsIn(systemdOf("primary")) - before.primary };

        const asked = (statuses: Map<number, number>) => [...statuses.values()].reduce((a, b) => a + b, 0);
        assert.ok(asked(standbyStatuses) > 1000 && asked(primaryStatuses) > 1000, `a flood: ${asked(standbyStatuses)} and ${asked(primaryStatuses)} GETs`);
        const allowed = Math.floor(elapsed / 1000) + 1;
        assert.ok(calls.standby <= allowed, `the watchdog ran systemctl ${calls.standby} times in ${elapsed} ms`);
        assert.ok(calls.primary <= allowed, `the replicator ran systemctl ${calls.primary} times in ${elapsed} ms (its heartbeats included)`);
        assert.ok(latencies.length >= 5, `heartbeats sent: ${latencies.length}`);
        assert.ok(Math.max(...latencies) < 1000, `heartbeats answered in ${latencies.join(", ")} ms`);
    });

    it("answers a caller's GETs beyond its allowance with 429 at once, and tells the witness's asker who serves again once it slows down", async () => {
        await new Promise((r) => setTimeout(r, 2500)); // the allowance refills after the flood above
        const url = `http://127.0.0.1:${standbyPort}${WITNESS_PATH}?challenge=${crypto.randomBytes(32).toString("hex")}`;
        const statuses = await Promise.all(Array.from({ length: GET_BURST + 30 }, () => fetch(url).then((r) => r.status)));
        // The burst, and what refills while they arrive (ten a second).
        const answered = statuses.filter((s) => s === 200).length;
        assert.ok(answered >= GET_BURST && answered <= GET_BURST + 3, statuses.join(" "));
        assert.equal(statuses.filter((s) => s === 429).length, statuses.length - answered);
        await new Promise((r) => setTimeout(r, 500));
        const answer = await fetch(url);
        assert.equal(answer.status, 200);
        assert.equal(((await answer.json()) as { serving: boolean }).serving, true);
        assert.match(running[0].output(), /watchdog: refusing GETs over 10 a second \(from 127\.0\.0\.1; \d+ refused since the last such line\)/);
    });
});

describe("the allowance of unsigned GETs", () => {
    const request = (method: string, address: string) => ({ method, socket: { remoteAddress: address }, resume() {} }) as unknown as http.IncomingMessage;
    const answers = () => {
        const written: number[] = [];
        const res = { writeHead: (status: number) => (written.push(status), res), end: () => undefined } as unknown as http.ServerResponse;
        return { res, written };
    };

    it("is per caller: a burst, then ten a second; POSTs (heartbeats, signed calls) are never limited", () => {
        let now = 1_000_000;
        const limit = new GetLimit("test", () => now);
        const { res, written } = answers();
        const refused = (method: string, address: string) => limit.refuses(request(method, address), res);
        for (let i = 0; i < GET_BURST; i++) assert.equal(refused("GET", "192.0.2.1"), false, `GET ${i}`);
        assert.equal(refused("GET", "192.0.2.1"), true);
        assert.deepEqual(written, [429]);
        assert.equal(refused("GET", "192.0.2.2"), false, "another caller has its own allowance");
        for (let i = 0; i < 100; i++) assert.equal(refused("POST", "192.0.2.1"), false);
        now += 500;
        const again = Array.from({ length: 6 }, () => refused("GET", "192.0.2.1"));
        assert.deepEqual(again, [false, false, false, false, false, true], "five more after half a second");
    });
});
