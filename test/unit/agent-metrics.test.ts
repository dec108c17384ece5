import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { build } from "esbuild";
import { register as globalRegister, Registry } from "prom-client";
import { MetricsSnapshot, renderMetrics } from "../../agent/src/monitoring/metrics";

const EVENTS = "/data/wirebot/scoreboard/events.db";
const HISTORY = "/data/wirebot/mem0/history.db";

const primary: MetricsSnapshot = {
    role: "primary",
    heartbeatAgeSeconds: 3.5,
    lastFileSyncSeconds: 1_790_000_000,
    fileSyncOk: true,
    replicationLagSeconds: { [EVENTS]: 0.25, [HISTORY]: 0 },
    lastLettaDumpSeconds: 1_789_990_000,
    serving: true,
};

const unknown: MetricsSnapshot = {
    role: "standby",
    heartbeatAgeSeconds: null,
    lastFileSyncSeconds: null,
    fileSyncOk: null,
    replicationLagSeconds: { [EVENTS]: null },
    lastLettaDumpSeconds: null,
    serving: false,
};

interface Sample {
    name: string;
    labels: Record<string, string>;
    value: number;
}

/** The samples of Prometheus' text format; comments and blank lines are skipped. */
function samples(body: string): Sample[] {
    return body
        .split("\n")
        .filter((line) => line && !line.startsWith("#"))
        .map((line) => {
            const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
            assert.ok(match, `not a sample line: ${line}`);
            const labels: Record<string, string> = {};
            for (const [, key, value] of (match[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
                labels[key] = value.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
            }
            return { name: match[1], labels, value: Number(match[3]) };
        });
}

function find(all: Sample[], name: string, labels: Record<string, string> = {}): Sample[] {
    return all.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

describe("agent metrics", () => {
    it("renders every figure with its value and labels", async () => {
        const all = samples((await renderMetrics(primary)).body);
        const value = (name: string, labels: Record<string, string> = {}) => {
            const found = find(all, name, labels);
            assert.equal(found.length, 1, `${name} ${JSON.stringify(labels)}`);
            assert.equal(found[0].labels.role, "primary", `${name} is labelled with the role`);
            return found[0].value;
        };
        assert.equal(value("wirebot_heartbeat_age_seconds"), 3.5);
        assert.equal(value("wirebot_file_sync_last_success_timestamp_seconds"), 1_790_000_000);
        assert.equal(value("wirebot_file_sync_ok"), 1);
        assert.equal(value("wirebot_replication_lag_seconds", { database: EVENTS }), 0.25);
        assert.equal(value("wirebot_replication_lag_seconds", { database: HISTORY }), 0, "caught up is a value, not an absence");
        assert.equal(value("wirebot_letta_dump_last_success_timestamp_seconds"), 1_789_990_000);
        assert.equal(value("wirebot_serving"), 1);
        assert.equal(all.length, 7);
    });

    it("declares each metric a gauge", async () => {
        const { body } = await renderMetrics(primary);
        for (const name of [
            "wirebot_heartbeat_age_seconds",
            "wirebot_file_sync_last_success_timestamp_seconds",
            "wirebot_file_sync_ok",
            "wirebot_replication_lag_seconds",
            "wirebot_letta_dump_last_success_timestamp_seconds",
            "wirebot_serving",
        ]) {
            assert.match(body, new RegExp(`^# TYPE ${name} gauge$`, "m"));
            assert.match(body, new RegExp(`^# HELP ${name} \\S`, "m"));
        }
    });

    it("renders false as 0 and labels a standby's figures with its role", async () => {
        const all = samples((await renderMetrics({ ...primary, role: "standby", fileSyncOk: false, serving: false })).body);
        assert.deepEqual(find(all, "wirebot_file_sync_ok").map((s) => s.value), [0]);
        assert.deepEqual(find(all, "wirebot_serving").map((s) => s.value), [0]);
        assert.ok(all.every((s) => s.labels.role === "standby"));
    });

    it("leaves out what is not known, rather than a zero or NaN", async () => {
        const { body } = await renderMetrics(unknown);
        const all = samples(body);
        assert.deepEqual(all, [{ name: "wirebot_serving", labels: { role: "standby" }, value: 0 }]);
        assert.doesNotMatch(body, /NaN/);

        const partly = samples((await renderMetrics({ ...primary, replicationLagSeconds: { [EVENTS]: 2, [HISTORY]: null } })).body);
        assert.deepEqual(
            find(partly, "wirebot_replication_lag_seconds").map((s) => s.labels.database),
            [EVENTS],
        );

        const broken = await renderMetrics({ ...primary, heartbeatAgeSeconds: NaN, lastFileSyncSeconds: Infinity, replicationLagSeconds: { [EVENTS]: NaN } });
        assert.doesNotMatch(broken.body, /NaN|Inf/);
        assert.equal(find(samples(broken.body), "wirebot_heartbeat_age_seconds").length, 0);
        assert.equal(find(samples(broken.body), "wirebot_replication_lag_seconds").length, 0);
    });

    it("escapes a database path in its label", async () => {
        const odd = '/data/a "quoted"\\dir/x.db';
        const { body } = await renderMetrics({ ...primary, replicationLagSeconds: { [odd]: 1 } });
        assert.deepEqual(
            find(samples(body), "wirebot_replication_lag_seconds").map((s) => s.labels.database),
            [odd],
        );
    });

    it("answers with prom-client's content type", async () => {
        const { contentType } = await renderMetrics(primary);
        assert.equal(contentType, new Registry().contentType);
        assert.match(contentType, /^text\/plain; version=0\.0\.4/);
    });

    it("keeps nothing from one call to the next", async () => {
        await renderMetrics(primary);
        const second = samples((await renderMetrics({ ...unknown, heartbeatAgeSeconds: 1, replicationLagSeconds: { [HISTORY]: 5 } })).body);
        assert.deepEqual(find(second, "wirebot_heartbeat_age_seconds").map((s) => s.value), [1]);
        assert.deepEqual(
            find(second, "wirebot_replication_lag_seconds").map((s) => [s.labels.database, s.value]),
            [[HISTORY, 5]],
            "the first call's database is gone",
        );
        assert.equal(find(second, "wirebot_file_sync_ok").length, 0);
        assert.ok(second.every((s) => s.labels.role === "standby"));
        assert.doesNotMatch(await globalRegister.metrics(), /wirebot_/, "prom-client's global registry is left alone");
    });
});

describe("agent metrics in the one-file agent", () => {
    it("bundle with prom-client for Node 18 and render from the bundle", async () => {
        const result = await build({
            entryPoints: [path.join(__dirname, "../../agent/src/monitoring/metrics.ts")],
            bundle: true,
            platform: "node",
            target: "node18",
            format: "cjs",
            write: false,
            logLevel: "silent",
        });
        assert.deepEqual(result.errors, []);
        const code = result.outputFiles[0].text;
        assert.doesNotMatch(code, /require\("prom-client"\)/, "prom-client is inside the bundle");
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wirebot-metrics-bundle-"));
        try {
            const file = path.join(dir, "metrics.js");
            fs.writeFileSync(file, code);
            const bundled = createRequire(file)(file) as { renderMetrics: typeof renderMetrics };
            const rendered = await bundled.renderMetrics(primary);
            assert.deepEqual(rendered, await renderMetrics(primary));
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
