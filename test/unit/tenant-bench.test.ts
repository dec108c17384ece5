import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { replicateOnce, sql } from "./litestream-replica";
import { countReplicatedCommand, LAG_PROBE, lags, tenantCounts, tenantEventIdsCommand, tenantIds } from "../../bench/tenants";
import type { LoadAck } from "../../lab/runtime-harness";

// The tenant section of the benchmark runs on the lab only; what it runs on the
// hosts (the lag probe, the shell lines) is run here against real Litestream
// replicas and sqlite3, so the section's first run on the lab is not their first.

/** A tenant's live database under `live/<tenant>/events.db`, replicated by Litestream into `replica/<tenant>/events.db`; resolves once shipped. */
async function replicate(root: string, tenant: string, ids: string[]): Promise<void> {
    const db = path.join(root, "live", tenant, "events.db");
    fs.mkdirSync(path.dirname(db), { recursive: true });
    sql(db, `PRAGMA journal_mode=WAL; CREATE TABLE events (id TEXT PRIMARY KEY, tenant TEXT, kind TEXT, payload TEXT); ${ids.map((id) => `INSERT INTO events (id) VALUES ('${id}');`).join(" ")}`);
    const replica = path.join(root, "replica", tenant, "events.db");
    const config = path.join(root, `${tenant}.yml`);
    fs.writeFileSync(config, `dbs:\n  - path: ${db}\n    replica:\n      url: file://${replica}\n      sync-interval: 100ms\n`);
    await replicateOnce(config, replica);
}

describe("the benchmark's tenant section", () => {
    it("takes --tenants as a count or a list, and refuses anything else", () => {
        assert.equal(tenantCounts(["--pairs"]), undefined);
        assert.deepEqual(tenantCounts(["--tenants", "200"]), [200]);
        assert.deepEqual(tenantCounts(["--tenants=0,50,200"]), [0, 50, 200]);
        for (const bad of [["--tenants"], ["--tenants", "many"], ["--tenants", "-5"], ["--tenants", "50,"], ["--tenants", "3000"]]) {
            assert.throws(() => tenantCounts(bad), /--tenants takes a count/, bad.join(" "));
        }
        assert.deepEqual(tenantIds(3), ["bench-000", "bench-001", "bench-002"]);
    });

    it("times each sampled write from its acknowledgement to the first restore that holds it", () => {
        const ack = (tenant: string, seq: number, at: number): LoadAck => ({ tenant, id: `t-${tenant}-${seq}`, seq, host: "primary", at });
        const probe = ["bench-000 1500 1", "bench-000 2600 2", "bench-001 900 1", "bench-001 3000 1", ""].join("\n");
        const r = lags([ack("bench-000", 1, 1000), ack("bench-000", 2, 2000), ack("bench-000", 3, 2900), ack("bench-001", 1, 1000), ack("bench-002", 1, 1000)], probe, 0, 10_000);
        // bench-001's write was in a restore started before its acknowledgement: 0, not negative. bench-002 was not probed.
        assert.deepEqual(r.lags, [0.5, 0.6, 0]);
        assert.equal(r.unseen, 1, "bench-000's third write never restorable during the probe");
        assert.deepEqual(lags([ack("bench-000", 1, 1000)], probe, 1500, 10_000).lags, [], "outside the window");
    });

    it("probes lag on the standby with Litestream, and counts replicas and reads event ids with the shell lines it sends", async () => {
        const root = fs.mkdtempSync(path.join(os.tmpdir(), "wirebot-tenant-bench-"));
        await replicate(root, "bench-000", ["t-bench-000-0", "t-bench-000-1", "t-bench-000-2", "other"]);
        await replicate(root, "bench-001", ["t-bench-001-0"]);
        fs.mkdirSync(path.join(root, "replica", "bench-002", "events.db", "ltx", "0"), { recursive: true });
        fs.mkdirSync(path.join(root, "replica", "lab", "events.db"), { recursive: true });

        const probe = spawnSync("python3", ["-", "1.5", path.join(root, "replica"), "bench-000", "bench-001"], { input: LAG_PROBE, encoding: "utf8", timeout: 20_000 });
        assert.equal(probe.status, 0, probe.stderr);
        const lines = probe.stdout.trim().split("\n");
        assert.ok(lines.some((l) => /^bench-000 \d{13} 2$/.test(l)), probe.stdout);
        assert.ok(lines.some((l) => /^bench-001 \d{13} 0$/.test(l)), probe.stdout);

        const count = spawnSync("sh", ["-c", countReplicatedCommand(path.join(root, "replica"))], { encoding: "utf8" });
        assert.equal(count.stdout.trim(), "2", "bench-002 has no LTX file yet and lab is not the bench's");

        const ids = spawnSync("sh", ["-c", tenantEventIdsCommand(path.join(root, "live"))], { encoding: "utf8" });
        assert.equal(ids.status, 0, ids.stderr);
        assert.deepEqual(ids.stdout.trim().split("\n").sort(), ["t-bench-000-0", "t-bench-000-1", "t-bench-000-2", "t-bench-001-0"]);
        const none = spawnSync("sh", ["-c", tenantEventIdsCommand(path.join(root, "nowhere"))], { encoding: "utf8" });
        assert.equal(none.status, 0);
        assert.equal(none.stdout, "");
    });
});
