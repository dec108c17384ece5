import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { installBinary } from "../host/install-binary";
import type { BinarySource, PathsConfig } from "../config/schema";
import { FILE_SYNC_SERVICE, FILE_SYNC_TIMER, LETTA_DUMP_SERVICE, LETTA_DUMP_TIMER } from "../render/file-sync";
import { primaryFileSync } from "../host/file-sync-steps";
import { FIRE_DRILL_SERVICE, FIRE_DRILL_TIMER } from "../render/fire-drill";
import type { AgentConfig } from "../../agent/contract";
import { HostAgent } from "./host-agent";
import { hostFile } from "../host/host-file";
import { LITESTREAM_CONFIG_PATH, litestreamConfig, REPLICATION_KEY_PATH } from "../render/litestream-config";
import { pushKey } from "../host/push-key";
import { remoteStep } from "../host/remote-step";
import { unitRevisions } from "../render/service-units";
import { SshEndpoint, SshHost } from "../host/ssh-host";
import { readAsset, renderTemplate } from "../render/templates";

export const LITESTREAM_UNIT = "wirebot-litestream.service";

/** The primary's key for pushing replicas, made on the primary; its public half goes to the standby. */
export function replicationKey(primary: SshHost, timeoutSeconds: number, opts: pulumi.CustomResourceOptions): pulumi.Output<string> {
    return pushKey("replication-key", primary, REPLICATION_KEY_PATH, "wirebot-replication", timeoutSeconds, opts);
}

export interface ReplicationFeedersArgs {
    primary: SshHost;
    standby: pulumi.Input<SshEndpoint>;
    paths: PathsConfig;
    /** The hub's files to keep in step on the standby (see fileSyncPaths). */
    fileSyncPaths: string[];
    litestream: BinarySource;
    syncInterval: string;
    agent: pulumi.Input<AgentConfig>;
    /** The unit of the WireGuard link the agent talks over (wg-quick@<interface>.service). */
    linkUnit: string;
    heartbeatToken: pulumi.Input<string>;
    alertWebhookUrl?: pulumi.Input<string>;
    nodePath: string;
    /** The fire drill's OnCalendar expression, or "off". */
    drillSchedule: string;
    /** The standby must admit the replication key before Litestream starts pushing. */
    standbyReady: pulumi.Input<pulumi.Resource>[];
    timeoutSeconds: number;
}

/**
 * What runs on the primary because a standby exists: Litestream streaming every
 * database (and each tenant database its directory watch finds) into the replica
 * directory on the standby, the hub's files synced by rsync, and the replicator
 * agent.
 */
export class ReplicationFeeders extends pulumi.ComponentResource {
    readonly units: string[];

    constructor(name: string, args: ReplicationFeedersArgs, opts?: pulumi.ComponentResourceOptions) {
        super("wirebot:host:ReplicationFeeders", name, {}, opts);
        const { primary, timeoutSeconds } = args;
        const config = pulumi.output(args.standby).apply((target) => litestreamConfig(args.paths, target, args.syncInterval));
        const litestreamUnit = readAsset(`systemd/${LITESTREAM_UNIT}`);
        const installed = [
            installBinary(primary, "litestream", args.litestream, timeoutSeconds, { parent: this }),
            hostFile(primary, { path: LITESTREAM_CONFIG_PATH, content: config, mode: "0640" }, timeoutSeconds, { parent: this }),
            hostFile(primary, { path: `/etc/systemd/system/${LITESTREAM_UNIT}`, content: litestreamUnit, mode: "0644" }, timeoutSeconds, { parent: this }),
            ...primaryFileSync(primary, args.fileSyncPaths, args.standby, timeoutSeconds, { parent: this }),
        ];
        const agent = new HostAgent(
            `${name}-agent`,
            { host: primary, settings: args.agent, linkUnit: args.linkUnit, heartbeatToken: args.heartbeatToken, alertWebhookUrl: args.alertWebhookUrl, nodePath: args.nodePath, timeoutSeconds },
            { parent: this },
        );
        const drillUnits = [
            { unit: FIRE_DRILL_SERVICE, content: renderTemplate(`systemd/${FIRE_DRILL_SERVICE}`, { nodePath: args.nodePath }) },
            ...(args.drillSchedule === "off" ? [] : [{ unit: FIRE_DRILL_TIMER, content: renderTemplate(`systemd/${FIRE_DRILL_TIMER}`, { schedule: args.drillSchedule }) }]),
        ];
        for (const unit of drillUnits) {
            installed.push(hostFile(primary, { path: `/etc/systemd/system/${unit.unit}`, content: unit.content, mode: "0644" }, timeoutSeconds, { parent: this }));
        }
        this.units = [LITESTREAM_UNIT, FILE_SYNC_TIMER, LETTA_DUMP_TIMER, ...(args.drillSchedule === "off" ? [] : [FIRE_DRILL_TIMER]), agent.unit];
        const fileSyncUnits = readAsset(`systemd/${FILE_SYNC_TIMER}`) + readAsset(`systemd/${FILE_SYNC_SERVICE}`);
        const lettaUnits = readAsset(`systemd/${LETTA_DUMP_TIMER}`) + readAsset(`systemd/${LETTA_DUMP_SERVICE}`);
        const revisions = pulumi.all([config, agent.restartContent]).apply(([c, agentContent]) =>
            unitRevisions([
                { unit: LITESTREAM_UNIT, content: litestreamUnit + c },
                { unit: FILE_SYNC_TIMER, content: fileSyncUnits },
                { unit: LETTA_DUMP_TIMER, content: lettaUnits },
                ...drillUnits,
                { unit: agent.unit, content: agentContent },
            ]),
        );
        // They run whichever side is active, so a flip never has to reach the primary: on a
        // primary that stopped serving they have nothing new to ship, and its agent still answers.
        runUnits(primary, "feeders", this.units, revisions, timeoutSeconds, {
            parent: this,
            dependsOn: pulumi.output(args.standbyReady).apply((ready) => [...installed, ...agent.installed, ...ready]),
        });
        this.registerOutputs({ units: this.units });
    }
}

/** Runs helper units as one step (on either side of a flip), restarting those whose files changed. */
export function runUnits(
    host: SshHost,
    name: string,
    units: string[],
    revisions: pulumi.Input<string>,
    timeoutSeconds: number,
    opts: pulumi.CustomResourceOptions,
): command.remote.Command {
    return remoteStep(
        name,
        {
            host,
            script: "set-units.sh",
            libraries: ["unit-revisions.sh"],
            inputs: { UNITS: units.join(" "), UNIT_REVISIONS: revisions },
            timeoutSeconds,
        },
        opts,
    );
}
