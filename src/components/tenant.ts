import * as pulumi from "@pulumi/pulumi";
import type { PathsConfig } from "../config/schema";
import { hostFile } from "../host/host-file";
import { prepareHost } from "../host/prepare-host";
import { SshHost } from "../host/ssh-host";
import { tunnelCname } from "./tunnel";

export const TENANT_CONFIG_DIR = "/etc/wirebot/tenants";

export interface TenantArgs {
    tenantId: string;
    hostnames: string[];
    hosts: SshHost[];
    paths: PathsConfig;
    secrets: pulumi.Output<Record<string, string>>;
    tunnelId: pulumi.Input<string>;
    dnsZoneId?: string;
    timeoutSeconds: number;
}

export function tenantDatabasePath(paths: PathsConfig, tenantId: string): string {
    return `${paths.tenantsDir}/${tenantId}/events.db`;
}

/**
 * A client instance: its hostnames routed through the tunnel, its directories and
 * secrets on both hosts, and its scoreboard database under the tenants directory,
 * where Litestream's directory watch picks it up. Destroying it removes its secrets
 * and config and keeps its data.
 */
export class Tenant extends pulumi.ComponentResource {
    readonly databasePath: string;
    readonly secretsPath: string;

    constructor(name: string, args: TenantArgs, opts?: pulumi.ComponentResourceOptions) {
        super("wirebot:tenant:Tenant", name, {}, opts);
        const id = args.tenantId;
        this.databasePath = tenantDatabasePath(args.paths, id);
        this.secretsPath = `${TENANT_CONFIG_DIR}/${id}.env`;
        const config = JSON.stringify({ tenant: id, hostnames: args.hostnames, database: this.databasePath }, null, 2) + "\n";
        const envFile = args.secrets.apply((s) =>
            Object.entries(s)
                .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
                .join("\n") + "\n",
        );
        for (const host of args.hosts) {
            const prepared = prepareHost(
                `tenant-${id}-prepare`,
                host,
                [],
                [
                    { path: `${args.paths.tenantsDir}/${id}`, owner: "wirebot", mode: "0750" },
                    { path: `${args.paths.dataRoot}/clients/${id}`, owner: "wirebot", mode: "0750" },
                    { path: TENANT_CONFIG_DIR, owner: "root", mode: "0750" },
                ],
                args.timeoutSeconds,
                { parent: this },
            );
            const after = { parent: this, dependsOn: [prepared] };
            hostFile(host, { path: this.secretsPath, content: pulumi.secret(envFile), mode: "0600" }, args.timeoutSeconds, after);
            hostFile(host, { path: `${TENANT_CONFIG_DIR}/${id}.json`, content: config, mode: "0644" }, args.timeoutSeconds, after);
        }
        if (args.dnsZoneId) {
            for (const hostname of args.hostnames) tunnelCname(hostname, args.dnsZoneId, args.tunnelId, this);
        }
        this.registerOutputs({ databasePath: this.databasePath, secretsPath: this.secretsPath });
    }
}
