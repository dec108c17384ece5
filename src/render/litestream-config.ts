import * as path from "node:path";
import { LITESTREAM_SOCKET } from "../../agent/contract";
import type { PathsConfig } from "../config/schema";
import type { SshEndpoint } from "../host/ssh-host";

export const LITESTREAM_CONFIG_PATH = "/etc/wirebot/litestream.yml";
export const REPLICATION_KEY_PATH = "/etc/wirebot/replication_ed25519";
export const REPLICA_USER = "wirebot-replica";

export interface ReplicatedDatabase {
    live: string;
    replica: string;
}

/**
 * Where a live database's replica lives on the standby: a Litestream replica
 * directory under replicaDir, never the live path itself.
 */
export function replicaPathOf(paths: PathsConfig, live: string): string {
    const relative = live.startsWith(paths.dataRoot + "/") ? path.relative(paths.dataRoot, live) : live.replace(/^\/+/, "");
    return path.posix.join(paths.replicaDir, relative);
}

export function replicatedDatabases(paths: PathsConfig): ReplicatedDatabase[] {
    return paths.databases.map((live) => ({ live, replica: replicaPathOf(paths, live) }));
}

/** Litestream reads YAML; JSON is YAML, so the structure is serialised, not templated. */
export function litestreamConfig(paths: PathsConfig, target: SshEndpoint, syncInterval: string): string {
    const replica = (replicaPath: string) => ({
        type: "sftp",
        host: `${target.host}:${target.port}`,
        user: REPLICA_USER,
        "key-path": REPLICATION_KEY_PATH,
        "host-key": target.hostKey,
        path: replicaPath,
        "sync-interval": syncInterval,
    });
    const config = {
        // The agent asks for an immediate, confirmed upload once writes stop before a planned handover (litestream sync -wait).
        socket: { enabled: true, path: LITESTREAM_SOCKET, permissions: 0o600 },
        dbs: [
            ...replicatedDatabases(paths).map((db) => ({ path: db.live, replica: replica(db.replica) })),
            // Tenant databases appear as tenants are added; the watch picks them up without a redeploy.
            {
                dir: paths.tenantsDir,
                pattern: "events.db",
                recursive: true,
                watch: true,
                replica: replica(replicaPathOf(paths, paths.tenantsDir)),
            },
        ],
    };
    return `# Managed by wirebot-failover.\n${JSON.stringify(config, null, 2)}\n`;
}
