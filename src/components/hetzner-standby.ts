import * as pulumi from "@pulumi/pulumi";
import * as hcloud from "@pulumi/hcloud";
import * as random from "@pulumi/random";
import { hostFile } from "../host/host-file";
import { SshHost } from "../host/ssh-host";
import { ed25519KeypairFromSeed } from "../host/ssh-keypair";
import { unitRevisions } from "../render/service-units";
import { readAsset } from "../render/templates";
import { withFormerType } from "./former-type";
import { runUnits } from "./replication-feeders";

export interface HetznerStandbyArgs {
    name: string;
    serverType: string;
    location: string;
    image: string;
    /** The operator's key for logging in as root. */
    sshPublicKey: string;
    /** Where SSH may come from: the primary and the operator's admin addresses. */
    sshSourceCidrs: pulumi.Input<string[]>;
    /** Where the WireGuard link's packets may come from: the primary only. */
    linkSourceCidrs: pulumi.Input<string[]>;
    /** The link's UDP port; the agents' own port is open to nobody (they talk inside the link). */
    linkPort: number;
}

/**
 * The standby server: a small Hetzner box whose firewall admits SSH from the
 * primary and the admins, and the WireGuard link the agents talk over from the
 * primary only; everything else reaches it through the tunnel. Its SSH host key is made here and pinned, so
 * the first connection is already verified; the metadata service that keeps
 * it in the user data is closed to every process but root's (see cloudInit).
 */
export class HetznerStandby extends pulumi.ComponentResource {
    readonly address: pulumi.Output<string>;
    readonly ipv6Network: pulumi.Output<string>;
    readonly hostKey: pulumi.Output<string>;
    readonly serverId: pulumi.Output<string>;

    constructor(name: string, args: HetznerStandbyArgs, opts?: pulumi.ComponentResourceOptions) {
        super("wirebot:hetzner:HetznerStandby", name, {}, withFormerType(opts, "wirebot:hetzner:Standby"));
        const child = { parent: this };
        const seed = new random.RandomBytes(`${name}-host-key-seed`, { length: 32 }, child);
        const hostKeys = seed.base64.apply((s) => ed25519KeypairFromSeed(s, `root@${args.name}`));
        const key = new hcloud.SshKey(`${name}-admin`, { name: `${args.name}-admin`, publicKey: args.sshPublicKey }, child);
        const firewall = new hcloud.Firewall(
            `${name}-firewall`,
            {
                name: `${args.name}-firewall`,
                rules: [
                    { direction: "in", protocol: "tcp", port: "22", sourceIps: args.sshSourceCidrs, description: "SSH from the primary and admins" },
                    { direction: "in", protocol: "udp", port: String(args.linkPort), sourceIps: args.linkSourceCidrs, description: "the agents' WireGuard link from the primary" },
                ],
            },
            child,
        );
        const server = new hcloud.Server(
            name,
            {
                name: args.name,
                serverType: args.serverType,
                location: args.location,
                image: args.image,
                sshKeys: [key.id],
                firewallIds: [firewall.id.apply(Number)],
                publicNets: [{ ipv4Enabled: true, ipv6Enabled: true }],
                userData: pulumi.secret(hostKeys.apply((k) => cloudInit(k.privateKeyOpenSsh, k.publicKeyOpenSsh))),
                labels: { "managed-by": "wirebot-failover", role: "standby" },
            },
            { ...child, ignoreChanges: ["userData"] },
        );
        this.address = server.ipv4Address;
        this.ipv6Network = server.ipv6Network;
        this.hostKey = pulumi.unsecret(hostKeys.apply((k) => k.publicKeyOpenSsh.split(" ").slice(0, 2).join(" ")));
        this.serverId = server.id;
        this.registerOutputs({ address: this.address, hostKey: this.hostKey, serverId: this.serverId });
    }
}

export const METADATA_GUARD_UNIT = "wirebot-metadata-guard.service";
export const METADATA_GUARD_RULES_PATH = "/etc/wirebot-metadata-guard.nft";

/** The guard that keeps every process but root's from the metadata service: its nftables rules and the unit that loads them at boot. */
export function metadataGuardFiles(): { path: string; content: string; mode: string }[] {
    return [
        { path: METADATA_GUARD_RULES_PATH, content: readAsset("cloud-init/metadata-guard.nft"), mode: "0644" },
        { path: `/etc/systemd/system/${METADATA_GUARD_UNIT}`, content: readAsset(`systemd/${METADATA_GUARD_UNIT}`), mode: "0644" },
    ];
}

/**
 * The same guard as a step of the standby's setup, for a server made before
 * cloud-init set it up (its user data is never changed: that would replace
 * the server), and so that a guard removed on the host comes back.
 */
export function guardMetadata(host: SshHost, timeoutSeconds: number, opts: pulumi.CustomResourceOptions): pulumi.Resource[] {
    const files = metadataGuardFiles().map((f) => hostFile(host, f, timeoutSeconds, opts));
    const unit = metadataGuardFiles().find((f) => f.path.endsWith(METADATA_GUARD_UNIT))!;
    const running = runUnits(host, "metadata-guard", [METADATA_GUARD_UNIT], unitRevisions([{ unit: METADATA_GUARD_UNIT, content: unit.content }]), timeoutSeconds, {
        ...opts,
        dependsOn: files,
    });
    return [...files, running];
}

/**
 * cloud-init takes YAML, and JSON is YAML: the static part lives in
 * host/cloud-init; the host keys and the metadata guard are added here.
 *
 * The host key travels in the user data because the first connection must
 * already be verified: Hetzner offers no other way to tell the server a key
 * before it boots, nor to read one it made from outside. Hetzner's metadata
 * service then serves the user data, key included, to anything on the server
 * for the server's whole life, and cloud-init cannot delete it there. So the
 * guard is the first thing cloud-init runs, once nftables is installed: from
 * then on, at every boot before the network is up, only root may reach the
 * metadata service, and root can read the key in /etc/ssh anyway.
 */
export function cloudInit(hostPrivateKey: string, hostPublicKey: string): string {
    const base = JSON.parse(readAsset("cloud-init/standby.json")) as { packages: string[]; write_files: unknown[]; runcmd: unknown[] } & Record<string, unknown>;
    const config = {
        ...base,
        // nftables for the guard (and the link's firewall); wireguard-tools for the agents' link (a Hetzner kernel has WireGuard itself).
        packages: [...base.packages, "nftables", "wireguard-tools"],
        write_files: [...base.write_files, ...metadataGuardFiles().map((f) => ({ path: f.path, permissions: f.mode, owner: "root:root", content: f.content }))],
        runcmd: [["systemctl", "daemon-reload"], ["systemctl", "enable", "--now", METADATA_GUARD_UNIT], ...base.runcmd],
        ssh_keys: { ed25519_private: hostPrivateKey, ed25519_public: hostPublicKey },
    };
    return `#cloud-config\n${JSON.stringify(config, null, 2)}\n`;
}
