import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { AgentConfig } from "../../contract";
import { Database, databasesOf, fingerprint, fingerprintDifference } from "./databases";
import { position } from "./ltx-position";
import { commandParallelism, mapBounded } from "../core/bounded";
import { runCommand } from "../core/command";

export class ReplicaBehind extends Error {}

/** Restores a replica to a scratch file and hashes it: what a takeover would serve, without touching the live path. */
export async function replicaFingerprint(db: Database): Promise<string | null> {
    if (!fs.existsSync(db.replica)) return null;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wirebot-replica-check-"));
    try {
        const scratch = path.join(dir, "restored.db");
        await runCommand("litestream", ["restore", "-o", scratch, `file://${db.replica}`], "", 120_000);
        return await fingerprint(scratch);
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/**
 * Waits until every replica holds exactly what the primary's database held when
 * it stopped taking writes (`expected`: live path to fingerprint), so a planned
 * takeover loses nothing. Litestream ships within its sync interval; the wait is
 * bounded and names the databases still behind when it gives up.
 */
export async function waitForReplicas(config: AgentConfig, expected: Record<string, string | null>, timeoutMs: number, everyMs = 500): Promise<number> {
    const started = Date.now();
    const byLive = new Map(databasesOf(config).map((db) => [db.live, db]));
    let behind = Object.keys(expected);
    const seen = new Map<string, string | null>();
    for (;;) {
        const now = await mapBounded(behind, commandParallelism(), (live) => replicaFingerprint(byLive.get(live) ?? { live, replica: "" }));
        behind.forEach((live, i) => seen.set(live, now[i]));
        behind = behind.filter((live) => seen.get(live) !== expected[live]);
        if (behind.length === 0) return Date.now() - started;
        if (Date.now() - started > timeoutMs) {
            const named = behind.map(
                (live) =>
                    `${live} (replica at transaction ${position(byLive.get(live)?.replica ?? "") ?? "none"}; ${fingerprintDifference(expected[live], seen.get(live) ?? null)})`,
            );
            throw new ReplicaBehind(`replicas still behind the primary after ${timeoutMs} ms: ${named.join(", ")}`);
        }
        await new Promise((r) => setTimeout(r, everyMs));
    }
}
