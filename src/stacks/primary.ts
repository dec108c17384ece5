import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { NAMESPACE, type PrimarySettings } from "../config/settings";
import type { HostKeyCheck } from "../host/host-key-check";
import { prepareHost } from "../host/prepare-host";
import { ServingRole } from "../components/serving-role";
import { SshHost } from "../host/ssh-host";
import { Tunnel, TunnelSource } from "../components/tunnel";
import type { PrimaryHostOutput, WitnessRouteOutput } from "./outputs";

/**
 * The primary stack: the Cloudflare tunnel with its ingress and DNS, and the
 * primary host's serving role. Its outputs are what the standby and tenant
 * stacks read.
 */
export async function primaryStack(settings: PrimarySettings, checkHostKey: HostKeyCheck): Promise<Record<string, unknown>> {
    const { config } = settings;
    const timeout = config.remoteTimeoutSeconds;
    const { services } = settings;
    const host: SshHost = { name: "primary", ...config.primary, address: config.primary.host, privateKey: settings.primarySshKey };
    await checkHostKey(host, { key: `${NAMESPACE}:primary.hostKey`, stack: pulumi.getStack() });

    const source: TunnelSource =
        config.tunnel.mode === "create"
            ? { mode: "create", name: config.tunnel.name, accountId: config.tunnel.accountId }
            : { mode: "adopt", credentials: settings.tunnelCredentials! };
    const tunnel = new Tunnel("tunnel", {
        source,
        routes: config.routes,
        tenantHostnames: config.tenantHostnames,
        services,
        agentPort: config.agent.port,
        dnsZoneId: config.tunnel.manageDns ? config.tunnel.zoneId : undefined,
    });

    const prepared = prepareHost(
        "prepare",
        host,
        ["wirebot"],
        [
            { path: "/etc/cloudflared", owner: "root", mode: "0755" },
            { path: "/etc/wirebot", owner: "root", mode: "0750" },
            ...[config.paths.dataRoot, config.paths.tenantsDir, ...config.paths.databases.map((db) => path.posix.dirname(db))].map((p) => ({
                path: p,
                owner: "wirebot",
                mode: "0750",
            })),
        ],
        timeout,
        {},
    );
    const serving = new ServingRole(
        "primary",
        {
            host,
            services,
            cloudflaredConfig: tunnel.connectorConfig,
            tunnelCredentials: tunnel.credentialsJson,
            cloudflared: config.binaries.cloudflared[host.arch]!,
            serving: config.activeSide === "primary",
            timeoutSeconds: timeout,
        },
        { dependsOn: [prepared] },
    );

    return {
        activeSide: config.activeSide,
        endpoints: tunnel.hostnames.map((h) => `https://${h}`),
        tunnelId: tunnel.tunnelId,
        tunnelCredentials: tunnel.credentialsJson,
        cloudflaredConfig: tunnel.connectorConfig,
        ingressHostnames: tunnel.hostnames,
        witness: { url: tunnel.witnessUrl, agentPort: config.agent.port } satisfies WitnessRouteOutput,
        primaryHost: { host: config.primary.host, port: host.port, user: host.user, hostKey: config.primary.hostKey, arch: host.arch } satisfies PrimaryHostOutput,
        primarySshKey: pulumi.secret(settings.primarySshKey),
        paths: config.paths,
        services,
        servingUnits: serving.units,
        nextCommand:
            config.activeSide === "primary"
                ? "pulumi up -s standby   # create or update the standby and its replication (after a failback: confirms the standby let go)"
                : "pulumi up -s standby   # confirms the switchover on the standby",
    };
}
