import * as net from "node:net";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { checkAgainstPrimary } from "../config/checks";
import { ConfigError, NAMESPACE, StandbySettings } from "../config/settings";
import { fileSyncPaths, SYNC_OUTBOX_DIR, SYNC_STAGING_DIR, TAKEOVER_COMMANDS } from "../render/file-sync";
import { fileSyncKey } from "../host/file-sync-steps";
import { drillProbes } from "../render/fire-drill";
import { guardMetadata, HetznerStandby } from "../components/hetzner-standby";
import { AgentLink } from "../components/agent-link";
import { addressBlock } from "../config/link-addresses";
import { AGENT_STATE_DIR, type AgentConfig, ALERT_WEBHOOK_PATH, HEARTBEAT_TOKEN_PATH } from "../../agent/contract";
import { HostAgent } from "../components/host-agent";
import type { HostKeyCheck } from "../host/host-key-check";
import { REPLICA_USER, replicaPathOf, replicatedDatabases } from "../render/litestream-config";
import { replicationKey, ReplicationFeeders, runUnits } from "../components/replication-feeders";
import { checkServerTypeOffered } from "../config/server-type-offered";
import { CONNECTOR_UNIT, unitRevisions } from "../render/service-units";
import { primaryOutputs, readStackOutputs } from "./outputs";
import { ServingRole } from "../components/serving-role";
import { SshHost } from "../host/ssh-host";
import { StandbyHost } from "../components/standby-host";

/**
 * The standby stack: everything that exists because a standby exists. The
 * standby host and its setup, its (normally stopped) serving role, and the
 * replication feeders on the primary. Destroying it leaves the primary as it was.
 */
export async function standbyStack(settings: StandbySettings, checkHostKey: HostKeyCheck): Promise<Record<string, unknown>> {
    const { config } = settings;
    const timeout = config.remoteTimeoutSeconds;
    const primaryStackName = config.primaryStack ?? `${pulumi.getOrganization()}/${pulumi.getProject()}/primary`;
    const primaryRef = new pulumi.StackReference("primary-stack", { name: primaryStackName });
    const primaryOut = await readStackOutputs(
        primaryRef,
        primaryStackName,
        primaryOutputs.pick({ activeSide: true, paths: true, services: true, primaryHost: true, witness: true }),
        (key) =>
            `${NAMESPACE}:primaryStack: stack ${primaryStackName} has no output '${key}'; run pulumi up -s primary (with this version of the program) first, or point ${NAMESPACE}:primaryStack at the primary stack`,
    );
    checkAgainstPrimary(config, primaryOut.primaryHost.arch, primaryOut.paths, primaryOut.witness.agentPort, primaryOut.primaryHost.host);

    const primary: SshHost = {
        name: "primary",
        ...primaryOut.primaryHost,
        address: primaryOut.primaryHost.host,
        privateKey: primaryRef.requireOutput("primarySshKey") as pulumi.Output<string>,
    };
    await checkHostKey(primary, { key: `${NAMESPACE}:primary.hostKey`, stack: primaryStackName, readFromOutputs: true });
    const { host: standby, server, primaryCidrs, standbyCidrs } = await standbyHost(settings, primaryOut.primaryHost.host, checkHostKey);
    const { paths, services } = primaryOut;
    const heartbeatToken =
        settings.heartbeatToken ?? new random.RandomPassword("heartbeat-token", { length: 48, special: false }).result;

    const publicKey = replicationKey(primary, timeout, {});
    const syncedPaths = fileSyncPaths(paths, primary.arch, standby.arch);
    const standbySetup = new StandbyHost("standby", {
        host: standby,
        paths,
        litestream: config.binaries.litestream[standby.arch]!,
        replicationPublicKey: publicKey,
        fileSyncPublicKey: fileSyncKey(primary, timeout, {}),
        fileSyncPaths: syncedPaths,
        maxTenants: config.litestream.maxTenants,
        timeoutSeconds: timeout,
    });
    // A Hetzner server's user data (the host key with it) stays out of reach of every process but root's.
    const metadataGuard = server ? guardMetadata(standby, timeout, { dependsOn: [standbySetup.prepared] }) : [];
    const port = config.agent.port;
    // The agents talk over WireGuard between the hosts; their port answers nowhere else but loopback.
    const link = new AgentLink("link", {
        link: config.link,
        agentPort: port,
        primary: { host: primary, sources: primaryCidrs, after: [], packages: "require" },
        // A server the program made gets the link's packages itself; an operator's host is told what to install.
        standby: { host: standby, sources: standbyCidrs, after: [standbySetup.prepared], packages: server ? "install" : "require" },
        timeoutSeconds: timeout,
    });

    const agentBase = {
        heartbeatIntervalSeconds: config.agent.heartbeatIntervalSeconds,
        missThreshold: config.agent.missThreshold,
        autoActivate: config.agent.autoActivate,
        // By default the tunnel's own witness route, whose answers are signed; an operator's URL is asked as it was (JSON naming `host`).
        witness: config.agent.witnessUrl ? { url: config.agent.witnessUrl, signed: false } : { url: primaryOut.witness.url, signed: true },
        tokenFile: HEARTBEAT_TOKEN_PATH,
        alertWebhookUrlFile: settings.alertWebhookUrl ? ALERT_WEBHOOK_PATH : null,
        stateDir: AGENT_STATE_DIR,
        units: { services: services.map((s) => s.unit), connector: CONNECTOR_UNIT },
        databases: replicatedDatabases(paths).map((db) => ({ path: db.live, replica: db.replica })),
        tenantsDir: paths.tenantsDir,
        replicaDir: paths.replicaDir,
        tenantsReplicaDir: replicaPathOf(paths, paths.tenantsDir),
        fileSync: { paths: syncedPaths, debounceSeconds: config.agent.fileSyncDebounceSeconds, stagingDir: SYNC_STAGING_DIR, outboxDir: SYNC_OUTBOX_DIR },
        probes: drillProbes(services, config.agent.drill),
    };
    const feeders = new ReplicationFeeders("feeders", {
        primary,
        standby: pulumi.all([standby.address, standby.hostKey]).apply(([host, hostKey]) => ({ host, port: standby.port, hostKey })),
        paths,
        fileSyncPaths: syncedPaths,
        litestream: config.binaries.litestream[primary.arch]!,
        syncInterval: config.litestream.syncInterval,
        // Loopback only; the standby's watchdog is called at its address on the link.
        agent: { ...agentBase, role: "primary", listen: { addresses: ["127.0.0.1"], port }, peer: { address: link.addresses.standby, port } },
        linkUnit: link.unit,
        heartbeatToken,
        alertWebhookUrl: settings.alertWebhookUrl,
        nodePath: config.agent.nodePath,
        drillSchedule: config.agent.drill.schedule,
        standbyReady: [...standbySetup.ready, ...link.ready],
        timeoutSeconds: timeout,
    });

    const watchdog = new HostAgent(
        "watchdog",
        {
            host: standby,
            settings: {
                ...agentBase,
                role: "standby",
                // Loopback (this host's commands, the tunnel's connector) and the link, never a public address.
                listen: { addresses: ["127.0.0.1", link.addresses.standby], port },
                // The primary's requests name the address it calls; the watchdog takes no other.
                calledAt: { address: link.addresses.standby, port },
                peer: { address: link.addresses.primary, port },
            } satisfies AgentConfig,
            linkUnit: link.unit,
            heartbeatToken,
            alertWebhookUrl: settings.alertWebhookUrl,
            nodePath: config.agent.nodePath,
            timeoutSeconds: timeout,
        },
        { dependsOn: standbySetup.ready },
    );
    // The watchdog runs on either side of a flip: it answers the primary's "does the standby serve?".
    const watchdogRunning = runUnits(
        standby,
        "watchdog",
        [watchdog.unit],
        watchdog.restartContent.apply((content) => unitRevisions([{ unit: watchdog.unit, content }])),
        timeout,
        { dependsOn: [...watchdog.installed, ...link.ready] },
    );
    // The serving step depends on everything else in the stack, so pulumi destroy deletes it first:
    // its delete refuses while the standby serves or holds unmerged writes, before anything else goes.
    const serving = new ServingRole(
        "standby",
        {
            host: standby,
            services,
            cloudflaredConfig: primaryRef.requireOutput("cloudflaredConfig") as pulumi.Output<string>,
            tunnelCredentials: primaryRef.requireOutput("tunnelCredentials") as pulumi.Output<string>,
            cloudflared: config.binaries.cloudflared[standby.arch]!,
            serving: config.activeSide === "standby",
            // Synced files and the databases from the replicas go into the live paths before the services start.
            beforeServing: TAKEOVER_COMMANDS,
            refuseDeleteWhileServing: true,
            timeoutSeconds: timeout,
        },
        { dependsOn: [watchdogRunning, watchdog, feeders, standbySetup, link, ...metadataGuard, ...(server ? [server] : [])] },
    );

    return {
        activeSide: config.activeSide,
        standbyAddress: standby.address,
        standbyArch: standby.arch,
        standbyHostKey: standby.hostKey,
        standbySshKey: pulumi.secret(settings.standbySshKey),
        standbyHost: { port: standby.port, user: standby.user },
        replicaUser: REPLICA_USER,
        replicaLocations: replicatedDatabases(paths).map((db) => ({ live: db.live, replica: pulumi.interpolate`${standby.address}:${db.replica}` })),
        tenantReplicaDir: pulumi.interpolate`${standby.address}:${paths.replicaDir}`,
        servingUnits: serving.units,
        link: { interface: config.link.interface, port: config.link.port, subnet: config.link.subnet, primaryAddress: link.addresses.primary, standbyAddress: link.addresses.standby },
        nextCommand: nextCommand(config.activeSide, primaryOut.activeSide),
    };
}

/** The operator's next step, given what each stack last recorded as the active side. */
export function nextCommand(activeSide: string, primaryRecorded: string | undefined): string {
    if (activeSide === "primary") {
        return "all set: the standby is warm. To switch over: pulumi config set wirebot:activeSide standby on both stacks, then pulumi up -s primary && pulumi up -s standby (emergency, primary down: pulumi up -s standby alone)";
    }
    if (primaryRecorded !== "standby") {
        return "the standby serves; the primary stack still records the primary as active (an emergency or automatic failover). Once the primary is back: pulumi config set -s primary wirebot:activeSide standby && pulumi up -s primary; then fail back";
    }
    return "the standby serves. To fail back: pulumi config set wirebot:activeSide primary on both stacks, then pulumi up -s primary && pulumi up -s standby";
}

interface StandbyEnd {
    host: SshHost;
    server?: HetznerStandby;
    /** Where the primary's WireGuard packets come from: the standby's firewall takes the link's port from these only. */
    primaryCidrs: pulumi.Input<string[]>;
    /** Where the standby's come from, for the primary's firewall. */
    standbyCidrs: pulumi.Input<string[]>;
}

async function standbyHost(settings: StandbySettings, primaryAddress: string, checkHostKey: HostKeyCheck): Promise<StandbyEnd> {
    const { config } = settings;
    const { link } = config;
    if (config.standby.provider === "existing") {
        const existing = config.standby.existing;
        const host = { name: "standby", ...existing, address: existing.host, privateKey: settings.standbySshKey };
        await checkHostKey(host, { key: `${NAMESPACE}:standby.existing.hostKey`, stack: pulumi.getStack() });
        // A name is refused earlier, when neither has a CIDR block (config/checks.ts).
        return {
            host,
            primaryCidrs: link.primaryCidrs ?? [addressBlock(primaryAddress)!],
            standbyCidrs: link.standbyCidrs ?? [addressBlock(existing.host)!],
        };
    }
    const hetzner = config.standby.hetzner;
    await checkServerTypeOffered(hetzner.serverType, hetzner.location);
    const primaryCidrs = hetzner.primaryCidrs ?? addressCidr(primaryAddress);
    const linkSources = link.primaryCidrs ?? primaryCidrs;
    const server = new HetznerStandby("standby-server", {
        name: hetzner.name,
        serverType: hetzner.serverType,
        location: hetzner.location,
        image: hetzner.image,
        sshPublicKey: hetzner.sshPublicKey,
        sshSourceCidrs: [...primaryCidrs, ...hetzner.adminCidrs],
        linkSourceCidrs: linkSources,
        linkPort: link.port,
    });
    const host: SshHost = {
        name: "standby",
        address: server.address,
        port: 22,
        user: "root",
        hostKey: server.hostKey,
        privateKey: settings.standbySshKey,
        arch: settings.standbyArch,
    };
    // Its WireGuard packets come from its IPv4 address, or from its IPv6 network when the primary is reached over IPv6.
    const standbyCidrs = link.standbyCidrs ?? pulumi.all([server.address, server.ipv6Network]).apply(([v4, v6]) => [`${v4}/32`, ...(v6 ? [v6] : [])]);
    return { host, server, primaryCidrs: linkSources, standbyCidrs };
}

function addressCidr(address: string): string[] {
    if (net.isIPv4(address)) return [`${address}/32`];
    if (net.isIPv6(address)) return [`${address}/128`];
    throw new ConfigError([
        `${NAMESPACE}:standby.hetzner.primaryCidrs: missing; the primary is reached as "${address}", a name the firewall cannot use. Set the primary's public address: pulumi config set --path '${NAMESPACE}:standby.hetzner.primaryCidrs[0]' 203.0.113.7/32`,
    ]);
}
