import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { installBinary } from "./binary-install";
import type { BinarySource, PathsConfig } from "./config-schema";
import { AgentSettings, HostAgent } from "./host-agent";
import { hostFile } from "./host-file";
import { LITESTREAM_CONFIG_PATH, litestreamConfig, REPLICATION_KEY_PATH, ReplicaTarget } from "./litestream-config";
import { remoteStep } from "./remote-step";
import { unitRevisions } from "./service-units";
import { SshHost } from "./ssh-host";
import { readAsset } from "./templates";

export const LITESTREAM_UNIT = "wirebot-litestream.service";

/** The primary's key for pushing replicas, made on the primary; its public half goes to the standby. */
export function replicationKey(primary: SshHost, timeoutSeconds: number, opts: pulumi.CustomResourceOptions): pulumi.Output<string> {
    const step = remoteStep("replication-key", { host: primary, script: "replication-key.sh", inputs: { KEY_PATH: REPLICATION_KEY_PATH }, timeoutSeconds }, opts);
    return step.stdout.apply((out) => out.trim().split("\n").pop() ?? "");
}

export interface ReplicationFeedersArgs {
    primary: SshHost;
    standby: pulumi.Input<ReplicaTarget>;
    paths: PathsConfig;
    litestream: BinarySource;
    syncInterval: string;
    agent: pulumi.Input<AgentSettings>;
    heartbeatToken: pulumi.Input<string>;
    alertWebhookUrl?: pulumi.Input<string>;
    nodePath: string;
    /** True when the primary is the active side: feeders run only from the serving host. */
    run: boolean;
    /** The standby must admit the replication key before Litestream starts pushing. */
    standbyReady: pulumi.Input<pulumi.Resource>[];
    timeoutSeconds: number;
}

/**
 * What runs on the primary because a standby exists: Litestream streaming every
 * database (and each tenant database its directory watch finds) into the replica
 * directory on the standby, and the replicator agent.
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
        ];
        const agent = new HostAgent(
            `${name}-agent`,
            { host: primary, settings: args.agent, heartbeatToken: args.heartbeatToken, alertWebhookUrl: args.alertWebhookUrl, nodePath: args.nodePath, timeoutSeconds },
            { parent: this },
        );
        this.units = [LITESTREAM_UNIT, agent.unit];
        const revisions = config.apply((c) =>
            unitRevisions([
                { unit: LITESTREAM_UNIT, content: litestreamUnit + c },
                { unit: agent.unit, content: agent.unitContent },
            ]),
        );
        runUnits(primary, "feeders", this.units, args.run, revisions, timeoutSeconds, {
            parent: this,
            dependsOn: pulumi.output(args.standbyReady).apply((ready) => [...installed, ...agent.installed, ...ready]),
        });
        this.registerOutputs({ units: this.units });
    }
}

/** Starts or stops helper units as one step, restarting those whose files changed. */
export function runUnits(
    host: SshHost,
    name: string,
    units: string[],
    run: boolean,
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
            inputs: { RUN: run ? "yes" : "no", UNITS: units.join(" "), UNIT_REVISIONS: revisions },
            timeoutSeconds,
        },
        opts,
    );
}
