import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { buildAgentBundle } from "../../agent/build";
import { AGENT_BUNDLE_PATH, AGENT_COMMAND_PATH, AGENT_CONFIG_PATH, type AgentConfig, ALERT_WEBHOOK_PATH, HEARTBEAT_TOKEN_PATH } from "../../agent/contract";
import { hostFile, HostFileSpec } from "../host/host-file";
import { withFormerType } from "./former-type";
import { SshHost } from "../host/ssh-host";
import { renderTemplate, sha256 } from "../render/templates";

/** What a running agent depends on: its unit, its bundle and its config; a change to any restarts it. */
export function agentRestartContent(unitContent: string, bundle: string, configJson: string): string {
    return `${unitContent}\n${sha256(bundle)}\n${configJson}`;
}

export interface HostAgentArgs {
    host: SshHost;
    /** The agent's config file, in the agent's own type, so the two cannot drift apart. */
    settings: pulumi.Input<AgentConfig>;
    /** The WireGuard link's unit, which the agent's unit pulls in. */
    linkUnit: string;
    heartbeatToken: pulumi.Input<string>;
    alertWebhookUrl?: pulumi.Input<string>;
    nodePath: string;
    timeoutSeconds: number;
}

/**
 * The agent on one host: the bundled script, the operator command, its config and
 * credentials (root-owned 0600), and its unit. Whether the unit runs is decided by
 * the caller, with the other units of the same role.
 */
export class HostAgent extends pulumi.ComponentResource {
    readonly unit: string;
    readonly unitContent: string;
    /** What the running agent depends on (unit, bundle, config): a change restarts it. */
    readonly restartContent: pulumi.Output<string>;
    readonly installed: command.remote.Command[];

    constructor(name: string, args: HostAgentArgs, opts?: pulumi.ComponentResourceOptions) {
        super("wirebot:host:HostAgent", name, {}, withFormerType(opts, "wirebot:host:Agent"));
        const role = pulumi.output(args.settings).apply((s) => s.role);
        const unitName = args.host.name === "primary" ? "wirebot-replicator.service" : "wirebot-watchdog.service";
        this.unit = unitName;
        this.unitContent = renderTemplate(`systemd/${unitName}`, { nodePath: args.nodePath, linkUnit: args.linkUnit });
        const bundle = buildAgentBundle();
        const configJson = pulumi.output(args.settings).apply((s) => JSON.stringify(s, null, 2) + "\n");
        this.restartContent = configJson.apply((c) => agentRestartContent(this.unitContent, bundle, c));
        const files: HostFileSpec[] = [
            { path: AGENT_BUNDLE_PATH, content: bundle, mode: "0755" },
            { path: AGENT_COMMAND_PATH, content: renderTemplate("bin/wirebot-failover", { nodePath: args.nodePath }), mode: "0755" },
            { path: AGENT_CONFIG_PATH, content: configJson, mode: "0640" },
            { path: HEARTBEAT_TOKEN_PATH, content: pulumi.secret(args.heartbeatToken), mode: "0600" },
            { path: `/etc/systemd/system/${unitName}`, content: this.unitContent, mode: "0644" },
        ];
        if (args.alertWebhookUrl) {
            files.push({ path: ALERT_WEBHOOK_PATH, content: pulumi.secret(args.alertWebhookUrl), mode: "0600" });
        }
        this.installed = files.map((f) => hostFile(args.host, f, args.timeoutSeconds, { parent: this }));
        this.registerOutputs({ unit: this.unit, role });
    }
}
