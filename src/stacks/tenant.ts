import * as pulumi from "@pulumi/pulumi";
import { ConfigError, NAMESPACE, TenantSettings } from "../config/settings";
import { primaryOutputs, readStackOutputs, standbyOutputs } from "./outputs";
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

    const missing = (stack: string) => (key: string) =>
        `${NAMESPACE}:tenantId: stack ${stack} has no output '${key}'; bring up the primary and standby stacks before tenant stacks`;
    const { paths, ingressHostnames: ingress, primaryHost } = await readStackOutputs(
        primaryRef,
        primaryName,
        primaryOutputs.pick({ paths: true, ingressHostnames: true, primaryHost: true }),
        missing(primaryName),
    );
    const { standbyHost, standbyArch } = await readStackOutputs(standbyRef, standbyName, standbyOutputs, missing(standbyName));

    const unrouted = config.hostnames.filter((h) => !ingress.includes(h));
    if (unrouted.length > 0) {
        throw new ConfigError([
            `${NAMESPACE}:hostnames: bad value ${JSON.stringify(unrouted)}: not routed by the tunnel yet; add them to ${NAMESPACE}:tenantHostnames on the primary stack and run pulumi up -s primary first`,
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
