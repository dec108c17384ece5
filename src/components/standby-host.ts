import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { HOST_COMMANDS } from "../../agent/contract";
import { installBinary } from "../host/install-binary";
import type { BinarySource, PathsConfig } from "../config/schema";
import { standbyFileSync } from "../host/file-sync-steps";
import { hostFile } from "../host/host-file";
import { prepareHost } from "../host/prepare-host";
import { REPLICA_USER, replicaPathOf, replicatedDatabases } from "../render/litestream-config";
import { maxStartups } from "../render/sshd-limits";
import { remoteStep } from "../host/remote-step";
import { SshHost } from "../host/ssh-host";
import { readAsset } from "../render/templates";

export const REPLICAS_LIST_PATH = "/etc/wirebot/replicas.list";

export interface StandbyHostArgs {
    host: SshHost;
    paths: PathsConfig;
    litestream: BinarySource;
    /** The primary's replication public key, admitted for SFTP into the replica directory only. */
    replicationPublicKey: pulumi.Input<string>;
    /** The primary's file-sync key, admitted for rrsync into the sync directory only. */
    fileSyncPublicKey: pulumi.Input<string>;
    fileSyncPaths: string[];
    /** Tenant databases whose replication connections sshd admits at once, besides the listed databases. */
    maxTenants: number;
    timeoutSeconds: number;
}

/**
 * The standby's own setup: users, the directory tree of the hub, the replica
 * directory the primary writes to, Litestream and the restore tooling, and the
 * landing place of the synced files.
 */
export class StandbyHost extends pulumi.ComponentResource {
    readonly prepared: command.remote.Command;
    readonly ready: pulumi.Resource[];

    constructor(name: string, args: StandbyHostArgs, opts?: pulumi.ComponentResourceOptions) {
        super("wirebot:host:StandbyHost", name, {}, opts);
        const { host, paths, timeoutSeconds } = args;
        this.prepared = prepareHost(
            "prepare",
            host,
            ["wirebot", REPLICA_USER],
            [
                ...[paths.dataRoot, paths.tenantsDir, paths.workspace, ...paths.databases.map((db) => path.posix.dirname(db))].map((p) => ({
                    path: p,
                    owner: "wirebot",
                    mode: "0750",
                })),
                { path: paths.replicaDir, owner: REPLICA_USER, mode: "0700" },
                { path: "/etc/wirebot", owner: "root", mode: "0750" },
                { path: "/etc/cloudflared", owner: "root", mode: "0755" },
            ],
            timeoutSeconds,
            { parent: this },
        );
        const after = { parent: this, dependsOn: [this.prepared] };
        const litestream = installBinary(host, "litestream", args.litestream, timeoutSeconds, after);
        const files = [
            hostFile(host, { path: HOST_COMMANDS.restore, content: readAsset("bin/wirebot-restore"), mode: "0755" }, timeoutSeconds, after),
            hostFile(host, { path: REPLICAS_LIST_PATH, content: replicasList(paths), mode: "0644" }, timeoutSeconds, after),
        ];
        const access = remoteStep(
            "replica-access",
            {
                host,
                script: "replica-access.sh",
                inputs: { REPLICA_USER, PUBLIC_KEY: args.replicationPublicKey, MAX_STARTUPS: maxStartups(paths.databases.length, args.maxTenants) },
                timeoutSeconds,
            },
            after,
        );
        const fileSync = standbyFileSync(host, args.fileSyncPaths, args.fileSyncPublicKey, timeoutSeconds, after);
        this.ready = [this.prepared, litestream, access, ...files, ...fileSync];
        this.registerOutputs({ replicaDir: paths.replicaDir });
    }
}

/** What wirebot-restore reads: one "<live> <replica>" line per database, then the tenants' directories. */
export function replicasList(paths: PathsConfig): string {
    const lines = replicatedDatabases(paths).map((db) => `${db.live} ${db.replica}`);
    lines.push(`tenants ${paths.tenantsDir}=${replicaPathOf(paths, paths.tenantsDir)}`);
    return `# Managed by wirebot-failover: live database and its Litestream replica directory.\n${lines.join("\n")}\n`;
}
