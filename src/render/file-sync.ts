import * as pulumi from "@pulumi/pulumi";
import type { Architecture, PathsConfig } from "../config/schema";
import { hostFile } from "../host/host-file";
import { pushKey } from "../host/push-key";
import { remoteStep } from "../host/remote-step";
import { SshHost } from "../host/ssh-host";
import { readAsset } from "./templates";

export const SYNC_USER = "wirebot-sync";
export const SYNC_DIR = "/var/lib/wirebot/sync";
export const SYNC_STAGING_DIR = `${SYNC_DIR}/files`;
/** Where the standby leaves copies of its databases after it served, for the primary to merge. */
export const SYNC_OUTBOX_DIR = `${SYNC_DIR}/outbox`;
export const FILE_SYNC_LIST_PATH = "/etc/wirebot/file-sync.list";
export const FILE_SYNC_ENV_PATH = "/etc/wirebot/file-sync.env";
export const FILE_SYNC_KEY_PATH = "/etc/wirebot/filesync_ed25519";
export const STANDBY_KNOWN_HOSTS_PATH = "/etc/wirebot/standby_known_hosts";
export const FILE_SYNC_SERVICE = "wirebot-file-sync.service";
export const FILE_SYNC_TIMER = "wirebot-file-sync.timer";
export const LETTA_DUMP_SERVICE = "wirebot-letta-dump.service";
export const LETTA_DUMP_TIMER = "wirebot-letta-dump.timer";
export const LETTA_DUMP_ENV_PATH = "/etc/wirebot/letta-dump.env";
/** Letta snapshots go to the standby over the file-sync key, into letta/ of the sync directory. */
export const LETTA_DUMP_ENV = "# Managed by wirebot-failover.\nSHIP_COMMAND=/usr/local/sbin/wirebot-file-sync ship letta\n";
/** What the standby runs before its services start when it takes over. */
export const TAKEOVER_COMMANDS = ["/usr/local/sbin/wirebot-place-files", "/usr/local/sbin/wirebot-restore"];

export interface SyncTarget {
    host: string;
    port: number;
    hostKey: string;
}

/** The paths to sync: the configured ones and the workspace, and the binaries only when both hosts run the same architecture. */
export function fileSyncPaths(paths: PathsConfig, primaryArch: Architecture, standbyArch: Architecture): string[] {
    const list = [...paths.fileSync, paths.workspace];
    if (paths.binaries && primaryArch === standbyArch) list.push(paths.binaries);
    return [...new Set(list)];
}

export function fileSyncList(list: string[]): string {
    return `# Managed by wirebot-failover: paths synced from the primary to the standby.\n${list.join("\n")}\n`;
}

export function fileSyncEnv(target: SyncTarget): string {
    return [
        "# Managed by wirebot-failover: where wirebot-file-sync sends the hub's files.",
        `STANDBY_HOST=${target.host}`,
        `STANDBY_PORT=${target.port}`,
        `SYNC_USER=${SYNC_USER}`,
        `SYNC_KEY=${FILE_SYNC_KEY_PATH}`,
        `KNOWN_HOSTS=${STANDBY_KNOWN_HOSTS_PATH}`,
        `PATHS_FILE=${FILE_SYNC_LIST_PATH}`,
        "",
    ].join("\n");
}

/** The standby's host key, pinned for the primary's rsync: never learned on first use. */
export function knownHostsLine(target: SyncTarget): string {
    const name = target.port === 22 ? target.host : `[${target.host}]:${target.port}`;
    return `${name} ${target.hostKey.trim().split(/\s+/).slice(0, 2).join(" ")}\n`;
}

/** The primary's file-sync key: made on the primary; its public half goes to the standby. */
export function fileSyncKey(primary: SshHost, timeoutSeconds: number, opts: pulumi.CustomResourceOptions): pulumi.Output<string> {
    return pushKey("file-sync-key", primary, FILE_SYNC_KEY_PATH, "wirebot-file-sync", timeoutSeconds, opts);
}

/** The standby admits the file-sync key for rrsync into the sync directory, and can put synced files in place. */
export function standbyFileSync(standby: SshHost, list: string[], publicKey: pulumi.Input<string>, timeoutSeconds: number, opts: pulumi.CustomResourceOptions) {
    return [
        remoteStep("sync-access", { host: standby, script: "sync-access.sh", inputs: { SYNC_USER, SYNC_DIR, PUBLIC_KEY: publicKey }, timeoutSeconds }, opts),
        hostFile(standby, { path: "/usr/local/sbin/wirebot-place-files", content: readAsset("bin/wirebot-place-files"), mode: "0755" }, timeoutSeconds, opts),
        hostFile(standby, { path: FILE_SYNC_LIST_PATH, content: fileSyncList(list), mode: "0644" }, timeoutSeconds, opts),
    ];
}

/** The primary's side: the sync script, its settings, the pinned standby key, the units and timers (file sync, Letta snapshots). */
export function primaryFileSync(primary: SshHost, list: string[], target: pulumi.Input<SyncTarget>, timeoutSeconds: number, opts: pulumi.CustomResourceOptions) {
    const t = pulumi.output(target);
    return [
        hostFile(primary, { path: "/usr/local/sbin/wirebot-file-sync", content: readAsset("bin/wirebot-file-sync"), mode: "0755" }, timeoutSeconds, opts),
        hostFile(primary, { path: "/usr/local/sbin/wirebot-merge", content: readAsset("bin/wirebot-merge"), mode: "0755" }, timeoutSeconds, opts),
        hostFile(primary, { path: FILE_SYNC_LIST_PATH, content: fileSyncList(list), mode: "0644" }, timeoutSeconds, opts),
        hostFile(primary, { path: FILE_SYNC_ENV_PATH, content: t.apply(fileSyncEnv), mode: "0644" }, timeoutSeconds, opts),
        hostFile(primary, { path: STANDBY_KNOWN_HOSTS_PATH, content: t.apply(knownHostsLine), mode: "0644" }, timeoutSeconds, opts),
        hostFile(primary, { path: `/etc/systemd/system/${FILE_SYNC_SERVICE}`, content: readAsset(`systemd/${FILE_SYNC_SERVICE}`), mode: "0644" }, timeoutSeconds, opts),
        hostFile(primary, { path: `/etc/systemd/system/${FILE_SYNC_TIMER}`, content: readAsset(`systemd/${FILE_SYNC_TIMER}`), mode: "0644" }, timeoutSeconds, opts),
        hostFile(primary, { path: "/usr/local/sbin/wirebot-letta-dump", content: readAsset("bin/wirebot-letta-dump"), mode: "0755" }, timeoutSeconds, opts),
        hostFile(primary, { path: LETTA_DUMP_ENV_PATH, content: LETTA_DUMP_ENV, mode: "0644" }, timeoutSeconds, opts),
        ...[LETTA_DUMP_SERVICE, LETTA_DUMP_TIMER].map((unit) =>
            hostFile(primary, { path: `/etc/systemd/system/${unit}`, content: readAsset(`systemd/${unit}`), mode: "0644" }, timeoutSeconds, opts),
        ),
    ];
}
