import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { FLIP_COMMAND } from "../../agent/contract";
import { installBinary } from "../host/install-binary";
import type { BinarySource } from "../config/schema";
import { hostFile, HostFileSpec } from "../host/host-file";
import { CLOUDFLARED_CONFIG_PATH, CLOUDFLARED_CREDENTIALS_PATH } from "../render/ingress";
import { remoteStep } from "../host/remote-step";
import { CONNECTOR_UNIT, connectorUnit, renderServiceUnit, ServiceSpec, unitRevisions } from "../render/service-units";
import { SshHost } from "../host/ssh-host";

export interface ServingRoleArgs {
    host: SshHost;
    services: ServiceSpec[];
    /** Rendered /etc/cloudflared/wirebot.yml, identical on both hosts. */
    cloudflaredConfig: pulumi.Input<string>;
    /** The tunnel credentials JSON: a secret. */
    tunnelCredentials: pulumi.Input<string>;
    cloudflared: BinarySource;
    /** True when this host is the active side. */
    serving: boolean;
    /** A command run before the services start when this host takes over. */
    beforeServing?: string[];
    /** The step's delete fails while this host serves or holds unmerged writes: its data would go with it. */
    refuseDeleteWhileServing?: boolean;
    timeoutSeconds: number;
}

/**
 * The flip's share of its serving step's time limit: the rest of the step
 * (services started and checked, then the connector) runs after it, and the
 * step is killed at the limit.
 */
export function flipBudgetSeconds(stepTimeoutSeconds: number): number {
    return Math.floor(stepTimeoutSeconds * 0.75);
}

/**
 * A host's serving role: the service units and the tunnel connector installed,
 * and running only where the host is the active side. Flipping the active side
 * changes the `serving` step alone.
 */
export class ServingRole extends pulumi.ComponentResource {
    readonly units: string[];
    readonly serving: pulumi.Output<boolean>;
    readonly activation: command.remote.Command;

    constructor(name: string, args: ServingRoleArgs, opts?: pulumi.ComponentResourceOptions) {
        super("wirebot:host:ServingRole", name, {}, opts);
        const { host, timeoutSeconds } = args;
        const serviceUnits = args.services.map(renderServiceUnit);
        const connector = connectorUnit();
        const files: HostFileSpec[] = [
            ...[...serviceUnits, connector].map((u) => ({ path: `/etc/systemd/system/${u.unit}`, content: u.content, mode: "0644" })),
            { path: CLOUDFLARED_CONFIG_PATH, content: args.cloudflaredConfig, mode: "0644" },
            { path: CLOUDFLARED_CREDENTIALS_PATH, content: args.tunnelCredentials, mode: "0600" },
        ];
        const binary = installBinary(host, "cloudflared", args.cloudflared, timeoutSeconds, { parent: this });
        const installed = files.map((f) => hostFile(host, f, timeoutSeconds, { parent: this }));

        // The connector restarts when its unit, config or credentials change.
        const revisions = pulumi
            .all([args.cloudflaredConfig, args.tunnelCredentials])
            .apply(([config, credentials]) =>
                unitRevisions([...serviceUnits, { unit: CONNECTOR_UNIT, content: connector.content + config + credentials }]),
            );

        this.units = serviceUnits.map((u) => u.unit);
        this.activation = remoteStep(
            "serving",
            {
                host,
                script: "set-serving.sh",
                libraries: ["unit-revisions.sh"],
                inputs: {
                    SERVING: args.serving ? "yes" : "no",
                    SERVICES: this.units.join(" "),
                    CONNECTOR: CONNECTOR_UNIT,
                    UNIT_REVISIONS: revisions,
                    BEFORE_SERVING: (args.beforeServing ?? []).join(" "),
                    REFUSE_DELETE_WHILE_SERVING: args.refuseDeleteWhileServing ? "yes" : "no",
                    // Run first; skipped by the script until the standby stack installed the agent.
                    FLIP_COMMAND,
                    FLIP_BUDGET_SECONDS: String(flipBudgetSeconds(timeoutSeconds)),
                },
                timeoutSeconds,
            },
            { parent: this, dependsOn: [binary, ...installed] },
        );
        this.serving = pulumi.output(args.serving);
        this.registerOutputs({ units: this.units, serving: this.serving });
    }
}
