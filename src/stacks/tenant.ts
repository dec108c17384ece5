import * as pulumi from "@pulumi/pulumi";
import { ConfigError, NAMESPACE, TenantSettings } from "../config/settings";
import type { Architecture, PathsConfig } from "../config/schema";
import { SshHost } from "../host/ssh-host";
import { Tenant } from "../components/tenant";

/** A tenant stack: one client instance, on both hosts, reading the primary and standby stacks. */
export async function tenantStack(settings: TenantSettings): Promise<Record<string, unknown>> {
    const { config } = settings;
    const org = pulumi.getOrganization();
    const project = pulumi.getProject();
    const primaryName = config.primaryStack ?? `${org}/${project}/primary`;
    const standbyName = config.standbyStack ?? `${org}/${project}/standby`;
    const primaryRef = new pulumi.StackReference("primary-stack", { name: primaryName });
    const standbyRef = new pulumi.StackReference("standby-stack", { name: standbyName });

    const plain = async (ref: pulumi.StackReference, stack: string, key: string): Promise<unknown> => {
        const details = await ref.getOutputDetails(key);
        const value = details.value ?? details.secretValue;
        if (value === undefined) {
            throw new ConfigError([`${NAMESPACE}:tenantId: stack ${stack} has no output '${key}'; bring up the primary and standby stacks before tenant stacks`]);
        }
        return value;
    };
    const paths = (await plain(primaryRef, primaryName, "paths")) as PathsConfig;
    const ingress = (await plain(primaryRef, primaryName, "ingressHostnames")) as string[];
    const primaryHost = (await plain(primaryRef, primaryName, "primaryHost")) as { host: string; port: number; user: string; hostKey: string; arch: Architecture };
    const standbyHost = (await plain(standbyRef, standbyName, "standbyHost")) as { port: number; user: string };
    const standbyArch = (await plain(standbyRef, standbyName, "standbyArch")) as Architecture;

    const missing = config.hostnames.filter((h) => !ingress.includes(h));
    if (missing.length > 0) {
        throw new ConfigError([
            `${NAMESPACE}:hostnames: bad value ${JSON.stringify(missing)}: not routed by the tunnel yet; add them to ${NAMESPACE}:tenantHostnames on the primary stack and run pulumi up -s primary first`,
        ]);
    }

    const hosts: SshHost[] = [
        { name: "primary", ...primaryHost, address: primaryHost.host, privateKey: primaryRef.requireOutput("primarySshKey") as pulumi.Output<string> },
        {
            name: "standby",
            ...standbyHost,
            arch: standbyArch,
            address: standbyRef.requireOutput("standbyAddress") as pulumi.Output<string>,
            hostKey: standbyRef.requireOutput("standbyHostKey") as pulumi.Output<string>,
            privateKey: standbyRef.requireOutput("standbySshKey") as pulumi.Output<string>,
        },
    ];
    const tenant = new Tenant(`tenant-${config.tenantId}`, {
        tenantId: config.tenantId,
        hostnames: config.hostnames,
        hosts,
        paths,
        secrets: settings.tenantSecrets,
        tunnelId: primaryRef.requireOutput("tunnelId") as pulumi.Output<string>,
        dnsZoneId: config.manageDns ? config.zoneId : undefined,
        timeoutSeconds: config.remoteTimeoutSeconds,
    });
    return {
        tenantId: config.tenantId,
        endpoints: config.hostnames.map((h) => `https://${h}`),
        scoreboardDatabase: tenant.databasePath,
        secretsFile: tenant.secretsPath,
        dataKeptOnDestroy: [`${paths.tenantsDir}/${config.tenantId}`, `${paths.dataRoot}/clients/${config.tenantId}`],
        nextCommand: "the tenant's scoreboard database replicates as soon as it is created; nothing else to run",
    };
}
