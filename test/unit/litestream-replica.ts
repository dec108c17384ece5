import { strict as assert } from "node:assert";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";

// Real SQLite databases and real Litestream replicas for the tests that need
// them: the host scripts and probes are tested against what Litestream writes.

export function sql(db: string, statement: string): string {
    const r = spawnSync("sqlite3", ["-bail", db], { input: statement, encoding: "utf8" });
    assert.equal(r.status, 0, `sqlite3 ${db}: ${r.stderr}`);
    return r.stdout.trim();
}

/** Runs `litestream replicate` with `config` until the replica at `replica` holds its first LTX file, then stops it. */
export async function replicateOnce(config: string, replica: string): Promise<void> {
    const child = spawn("litestream", ["replicate", "-config", config], { stdio: "ignore" });
    const level0 = `${replica}/ltx/0`;
    const deadline = Date.now() + 15_000;
    try {
        while (!fs.existsSync(level0) || fs.readdirSync(level0).length === 0) {
            if (Date.now() > deadline) throw new Error(`litestream made no replica in ${replica}`);
            await new Promise((r) => setTimeout(r, 50));
        }
    } finally {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill();
        await exited;
    }
}
