import { HOST_COMMANDS } from "../../agent/contract";
import type { Architecture, PathsConfig } from "../config/schema";
import type { SshEndpoint } from "../host/ssh-host";

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
export const LETTA_DUMP_ENV = `# Managed by wirebot-failover.\nSHIP_COMMAND=${HOST_COMMANDS.fileSync} ship letta\n`;
/** What the standby runs before its services start when it takes over. */
export const TAKEOVER_COMMANDS = [HOST_COMMANDS.placeFiles, HOST_COMMANDS.restore];

/** The paths to sync: the configured ones and the workspace, and the binaries only when both hosts run the same architecture. */
export function fileSyncPaths(paths: PathsConfig, primaryArch: Architecture, standbyArch: Architecture): string[] {
    const list = [...paths.fileSync, paths.workspace];
    if (paths.binaries && primaryArch === standbyArch) list.push(paths.binaries);
    return [...new Set(list)];
}

export function fileSyncList(list: string[]): string {
    return `# Managed by wirebot-failover: paths synced from the primary to the standby.\n${list.join("\n")}\n`;
}

export function fileSyncEnv(target: SshEndpoint): string {
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
export function knownHostsLine(target: SshEndpoint): string {
    const name = target.port === 22 ? target.host : `[${target.host}]:${target.port}`;
    return `${name} ${target.hostKey.trim().split(/\s+/).slice(0, 2).join(" ")}\n`;
}
