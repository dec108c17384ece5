import * as fs from "node:fs";
import * as path from "node:path";

/** The sync user's stand-in on this machine: nobody, as unprivileged as wirebot-sync is on the standby. */
export const SYNC_UID = 65534;

/**
 * A stand-in for ssh on the primary, for the real wirebot-file-sync: the
 * remote command runs on this machine as the standby's forced command runs it,
 * through the real rrsync confined to `syncDir`, as the sync user. Options and
 * the host are skipped; written as `ssh` into `binDir`, for PATH.
 */
export function fakeSsh(binDir: string, syncDir: string, uid = SYNC_UID): void {
    fs.mkdirSync(binDir, { recursive: true });
    const script = [
        "#!/bin/sh",
        "set -eu",
        'while [ "$#" -gt 0 ]; do',
        '    case "$1" in -i | -p | -o | -l) shift 2 ;; -*) shift ;; *) break ;; esac',
        "done",
        "shift",
        `cd '${syncDir}'`,
        `SSH_ORIGINAL_COMMAND="$*" exec setpriv --reuid=${uid} --regid=${uid} --clear-groups /usr/bin/rrsync '${syncDir}'`,
        "",
    ].join("\n");
    fs.writeFileSync(path.join(binDir, "ssh"), script, { mode: 0o755 });
}

/** The settings file wirebot-file-sync reads, for a standby reached through fakeSsh. */
export function fileSyncEnvFile(dir: string, pathsFile: string): string {
    const file = path.join(dir, "file-sync.env");
    const settings = {
        STANDBY_HOST: "standby.test",
        STANDBY_PORT: "22",
        SYNC_USER: "wirebot-sync",
        SYNC_KEY: path.join(dir, "no-key"),
        KNOWN_HOSTS: path.join(dir, "no-known-hosts"),
        PATHS_FILE: pathsFile,
        STATE_FILE: path.join(dir, "file-sync.json"),
    };
    fs.writeFileSync(file, Object.entries(settings).map(([k, v]) => `${k}=${v}\n`).join(""));
    return file;
}
