import * as pulumi from "@pulumi/pulumi";
import type * as command from "@pulumi/command";
import type { LinkConfig } from "../config/schema";
import { endpointOf, linkAddresses } from "../config/link-addresses";
import { hostFile } from "../host/host-file";
import { remoteStep } from "../host/remote-step";
import { publicHalf } from "../host/push-key";
import { SshHost } from "../host/ssh-host";
import { unitRevisions } from "../render/service-units";
import { readAsset, renderTemplate } from "../render/templates";
import { runUnits } from "./replication-feeders";

export const LINK_FIREWALL_UNIT = "wirebot-link-firewall.service";
export const LINK_FIREWALL_RULES_PATH = "/etc/wirebot/link-firewall.nft";
export const LINK_FIREWALL_TABLE = "inet wirebot_link";
export const WIREGUARD_DIR = "/etc/wireguard";

/** The packaged unit that brings the link up: wg-quick@<interface>.service. */
export function linkUnit(link: Pick<LinkConfig, "interface">): string {
    return `wg-quick@${link.interface}.service`;
}

export function linkKeyPath(link: Pick<LinkConfig, "interface">): string {
    return `${WIREGUARD_DIR}/${link.interface}.key`;
}

/** One host at an end of the link. */
export interface LinkEnd {
    host: SshHost;
    /** Where its WireGuard packets come from (CIDR blocks): the other host's firewall takes the link's port from these only. */
    sources: pulumi.Input<string[]>;
    /** What its link steps come after (the standby's users and /etc/wirebot). */
    after: pulumi.Input<pulumi.Resource>[];
    /** A host the program made gets the link's packages with apt-get; an operator's host is told what to install. */
    packages: "install" | "require";
}

export interface AgentLinkArgs {
    link: LinkConfig;
    agentPort: number;
    primary: LinkEnd;
    standby: LinkEnd;
    timeoutSeconds: number;
}

type Role = "primary" | "standby";

/**
 * The WireGuard link the agents talk over: a key made on each host that never
 * leaves it (only the public half comes back, to be pinned as the other
 * host's peer), wg-quick@<interface> on both hosts with the other as its only
 * peer, and on both hosts nftables rules that keep the agents' port to
 * loopback and the link and the link's UDP port to the other host. The
 * primary's agent calls the standby's at its address on the link. A
 * handshake between the two is checked before the agents rely on it.
 */
export class AgentLink extends pulumi.ComponentResource {
    /** Each host's address on the link. */
    readonly addresses: Record<Role, string>;
    readonly unit: string;
    /** Both ends up, firewalled, and a handshake seen. */
    readonly ready: pulumi.Resource[];

    constructor(name: string, args: AgentLinkArgs, opts?: pulumi.ComponentResourceOptions) {
        super("wirebot:host:AgentLink", name, {}, opts);
        const { link, timeoutSeconds } = args;
        const { prefix, ...addresses } = linkAddresses(link.subnet);
        this.addresses = addresses;
        this.unit = linkUnit(link);
        const ends: Record<Role, LinkEnd> = { primary: args.primary, standby: args.standby };
        const other = (role: Role): Role => (role === "primary" ? "standby" : "primary");
        const label = (end: LinkEnd) => pulumi.interpolate`${end.host.name} (${end.host.address})`;

        const keys = {} as Record<Role, command.remote.Command>;
        const publicKeys = {} as Record<Role, pulumi.Output<string>>;
        const firewalls = {} as Record<Role, pulumi.Resource[]>;
        for (const role of ["primary", "standby"] as const) {
            const end = ends[role];
            const after = { parent: this, dependsOn: end.after };
            keys[role] = remoteStep(
                "link-key",
                { host: end.host, script: "link-key.sh", inputs: { KEY_PATH: linkKeyPath(link), HOST_LABEL: label(end), PACKAGES_POLICY: end.packages }, timeoutSeconds },
                after,
            );
            publicKeys[role] = publicHalf(keys[role]);
            firewalls[role] = linkFirewall(end.host, firewallRules(role, link, args.agentPort, ends[other(role)].sources), timeoutSeconds, {
                parent: this,
                dependsOn: [keys[role]],
            });
        }
        const ups = {} as Record<Role, command.remote.Command>;
        for (const role of ["primary", "standby"] as const) {
            const end = ends[role];
            const peer = ends[other(role)];
            // This host's own public key is in the config too: a key made anew changes the config, whose step then puts the new private key in.
            const conf = pulumi
                .all([publicKeys[role], publicKeys[other(role)], peer.host.address])
                .apply(([publicKey, peerPublicKey, peerAddress]) =>
                    wgQuickConf({ role, link, address: addresses[role], prefix, publicKey, peerPublicKey, peerAddress: addresses[other(role)], peerEndpoint: endpointOf(peerAddress, link.port) }),
                );
            ups[role] = remoteStep(
                "link",
                {
                    host: end.host,
                    script: "link.sh",
                    inputs: { IFACE: link.interface, LISTEN_PORT: String(link.port), SUBNET: link.subnet, CONF: conf, HOST_LABEL: label(end) },
                    timeoutSeconds,
                },
                { parent: this, dependsOn: [keys[role], ...firewalls[role]] },
            );
        }
        const check = remoteStep(
            "link-check",
            {
                host: args.primary.host,
                script: "link-check.sh",
                inputs: { IFACE: link.interface, PEER_PUBLIC_KEY: publicKeys.standby, PEER_LABEL: label(args.standby), LISTEN_PORT: String(link.port), HOST_LABEL: label(args.primary) },
                timeoutSeconds,
            },
            { parent: this, dependsOn: [ups.primary, ups.standby] },
        );
        this.ready = [check, ups.primary, ups.standby, ...firewalls.primary, ...firewalls.standby];
        this.registerOutputs({ addresses: this.addresses, unit: this.unit });
    }
}

/** A WireGuard public key: 32 bytes in base64. */
const WG_PUBLIC_KEY = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;

export interface WgQuickConfArgs {
    role: Role;
    link: LinkConfig;
    address: string;
    prefix: number;
    publicKey: string;
    peerPublicKey: string;
    peerAddress: string;
    peerEndpoint: string;
}

/** The wg-quick config of one end, without its private key: the step puts that in on the host (host/scripts/link.sh). */
export function wgQuickConf(a: WgQuickConfArgs): string {
    for (const [role, key] of [[a.role, a.publicKey], [a.role === "primary" ? "standby" : "primary", a.peerPublicKey]]) {
        if (!WG_PUBLIC_KEY.test(key)) throw new Error(`the ${role}'s link key step printed no WireGuard public key (${JSON.stringify(key)}); run pulumi up -s standby again`);
    }
    return renderTemplate("link/wg-quick.conf", {
        interface: a.link.interface,
        role: a.role,
        address: a.address,
        prefix: String(a.prefix),
        publicKey: a.publicKey,
        listenPort: String(a.link.port),
        peerRole: a.role === "primary" ? "standby" : "primary",
        peerPublicKey: a.peerPublicKey,
        peerAddress: a.peerAddress,
        peerEndpoint: a.peerEndpoint,
    });
}

/** The nftables rules of one end: the agents' port on loopback and the link only, the link's UDP port from the peer's addresses only. */
export function firewallRules(role: Role, link: LinkConfig, agentPort: number, peerSources: pulumi.Input<string[]>): pulumi.Output<string> {
    return pulumi.output(peerSources).apply((sources) => {
        const v4 = sources.filter((s) => !s.includes(":"));
        const v6 = sources.filter((s) => s.includes(":"));
        const accept = (family: string, blocks: string[]) => (blocks.length ? [`\t\tudp dport ${link.port} ${family} saddr { ${blocks.join(", ")} } accept`] : []);
        return renderTemplate("link/firewall.nft", {
            role,
            interface: link.interface,
            subnet: link.subnet,
            agentPort: String(agentPort),
            listenPort: String(link.port),
            wireguardSources: [...accept("ip", v4), ...accept("ip6", v6)].join("\n"),
        });
    });
}

/** The rules and the unit that loads them at boot, and the unit running (a change of the rules reloads them). */
function linkFirewall(host: SshHost, rules: pulumi.Output<string>, timeoutSeconds: number, opts: pulumi.CustomResourceOptions): pulumi.Resource[] {
    const unit = readAsset(`systemd/${LINK_FIREWALL_UNIT}`);
    const files = [
        hostFile(host, { path: LINK_FIREWALL_RULES_PATH, content: rules, mode: "0644" }, timeoutSeconds, opts),
        hostFile(host, { path: `/etc/systemd/system/${LINK_FIREWALL_UNIT}`, content: unit, mode: "0644" }, timeoutSeconds, opts),
    ];
    const running = runUnits(host, "link-firewall", [LINK_FIREWALL_UNIT], rules.apply((r) => unitRevisions([{ unit: LINK_FIREWALL_UNIT, content: unit + r }])), timeoutSeconds, {
        ...opts,
        dependsOn: files,
    });
    return [...files, running];
}
