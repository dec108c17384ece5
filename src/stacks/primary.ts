import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { NAMESPACE, PrimarySettings } from "../config/load";
import { FLIP_COMMAND } from "../components/host-agent";
import type { HostKeyCheck } from "../host/host-key-check";
import { prepareHost } from "../host/prepare-host";
import { ServingRole } from "../components/serving-role";
import { SshHost } from "../host/ssh-host";
import { Tunnel, TunnelSource } from "../components/tunnel";

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
            // Installed by the standby stack; until then the primary has no peer to hand over to.
            flipCommand: FLIP_COMMAND,
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
        primaryHost: { host: host.address, port: host.port, user: host.user, hostKey: host.hostKey, arch: host.arch },
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
