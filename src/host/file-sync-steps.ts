import * as pulumi from "@pulumi/pulumi";
import { HOST_COMMANDS } from "../../agent/contract";
import {
    FILE_SYNC_ENV_PATH,
    FILE_SYNC_KEY_PATH,
    FILE_SYNC_LIST_PATH,
    FILE_SYNC_SERVICE,
    FILE_SYNC_TIMER,
    fileSyncEnv,
    fileSyncList,
    knownHostsLine,
    LETTA_DUMP_ENV,
    LETTA_DUMP_ENV_PATH,
    LETTA_DUMP_SERVICE,
    LETTA_DUMP_TIMER,
    STANDBY_KNOWN_HOSTS_PATH,
    SYNC_DIR,
    SYNC_USER,
} from "../render/file-sync";
import { readAsset } from "../render/templates";
import { hostFile } from "./host-file";
import { pushKey } from "./push-key";
import { remoteStep } from "./remote-step";
import { SshEndpoint, SshHost } from "./ssh-host";

/** The primary's file-sync key: made on the primary; its public half goes to the standby. */
export function fileSyncKey(primary: SshHost, timeoutSeconds: number, opts: pulumi.CustomResourceOptions): pulumi.Output<string> {
    return pushKey("file-sync-key", primary, FILE_SYNC_KEY_PATH, "wirebot-file-sync", timeoutSeconds, opts);
}

/** The standby admits the file-sync key for rrsync into the sync directory, and can put synced files in place. */
export function standbyFileSync(standby: SshHost, list: string[], publicKey: pulumi.Input<string>, timeoutSeconds: number, opts: pulumi.CustomResourceOptions) {
    return [
        remoteStep("sync-access", { host: standby, script: "sync-access.sh", inputs: { SYNC_USER, SYNC_DIR, PUBLIC_KEY: publicKey }, timeoutSeconds }, opts),
        hostFile(standby, { path: HOST_COMMANDS.placeFiles, content: readAsset("bin/wirebot-place-files"), mode: "0755" }, timeoutSeconds, opts),
        hostFile(standby, { path: FILE_SYNC_LIST_PATH, content: fileSyncList(list), mode: "0644" }, timeoutSeconds, opts),
    ];
}

/** The primary's side: the sync script, its settings, the pinned standby key, the units and timers (file sync, Letta snapshots). */
export function primaryFileSync(primary: SshHost, list: string[], target: pulumi.Input<SshEndpoint>, timeoutSeconds: number, opts: pulumi.CustomResourceOptions) {
    const t = pulumi.output(target);
    return [
        hostFile(primary, { path: HOST_COMMANDS.fileSync, content: readAsset("bin/wirebot-file-sync"), mode: "0755" }, timeoutSeconds, opts),
        hostFile(primary, { path: HOST_COMMANDS.merge, content: readAsset("bin/wirebot-merge"), mode: "0755" }, timeoutSeconds, opts),
        hostFile(primary, { path: FILE_SYNC_LIST_PATH, content: fileSyncList(list), mode: "0644" }, timeoutSeconds, opts),
        hostFile(primary, { path: FILE_SYNC_ENV_PATH, content: t.apply(fileSyncEnv), mode: "0644" }, timeoutSeconds, opts),
        hostFile(primary, { path: STANDBY_KNOWN_HOSTS_PATH, content: t.apply(knownHostsLine), mode: "0644" }, timeoutSeconds, opts),
        hostFile(primary, { path: `/etc/systemd/system/${FILE_SYNC_SERVICE}`, content: readAsset(`systemd/${FILE_SYNC_SERVICE}`), mode: "0644" }, timeoutSeconds, opts),
        hostFile(primary, { path: `/etc/systemd/system/${FILE_SYNC_TIMER}`, content: readAsset(`systemd/${FILE_SYNC_TIMER}`), mode: "0644" }, timeoutSeconds, opts),
        hostFile(primary, { path: HOST_COMMANDS.lettaDump, content: readAsset("bin/wirebot-letta-dump"), mode: "0755" }, timeoutSeconds, opts),
        hostFile(primary, { path: LETTA_DUMP_ENV_PATH, content: LETTA_DUMP_ENV, mode: "0644" }, timeoutSeconds, opts),
        ...[LETTA_DUMP_SERVICE, LETTA_DUMP_TIMER].map((unit) =>
            hostFile(primary, { path: `/etc/systemd/system/${unit}`, content: readAsset(`systemd/${unit}`), mode: "0644" }, timeoutSeconds, opts),
        ),
    ];
}
