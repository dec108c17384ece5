import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { AgentConfig } from "./config";

export interface Database {
    live: string;
    replica: string;
}

/** Every live database and its replica: the configured ones and each tenant's events.db. */
export function databasesOf(config: AgentConfig): Database[] {
    const found = config.databases.map((db) => ({ live: db.path, replica: db.replica }));
    const tenantsReplica = config.tenantsReplicaDir;
    for (const tenant of listDirs(config.tenantsDir)) {
        const live = path.posix.join(config.tenantsDir, tenant, "events.db");
        if (fs.existsSync(live)) found.push({ live, replica: path.posix.join(tenantsReplica, tenant, "events.db") });
    }
    for (const tenant of listDirs(tenantsReplica)) {
        const live = path.posix.join(config.tenantsDir, tenant, "events.db");
        if (!found.some((db) => db.live === live)) found.push({ live, replica: path.posix.join(tenantsReplica, tenant, "events.db") });
    }
    return found;
}

function listDirs(dir: string): string[] {
    try {
        return fs.readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
    } catch {
        return [];
    }
}

/** A content hash of a database (sqlite3's .sha3sum): equal on two hosts exactly when they hold the same rows. */
export function fingerprint(file: string): string | null {
    if (!fs.existsSync(file)) return null;
    return execFileSync("sqlite3", ["-readonly", file, ".sha3sum"], { encoding: "utf8", timeout: 60_000 }).trim();
}
