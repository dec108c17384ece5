import * as pulumi from "@pulumi/pulumi";
import * as hcloud from "@pulumi/hcloud";
import * as random from "@pulumi/random";
import { ed25519KeypairFromSeed } from "../host/ssh-keypair";
import { readAsset } from "../render/templates";
import { withFormerType } from "./former-type";

export interface HetznerStandbyArgs {
    name: string;
    serverType: string;
    location: string;
    image: string;
    /** The operator's key for logging in as root. */
    sshPublicKey: string;
    /** Where SSH may come from: the primary and the operator's admin addresses. */
    sshSourceCidrs: pulumi.Input<string[]>;
    /** Where heartbeats may come from: the primary only. */
    heartbeatSourceCidrs: pulumi.Input<string[]>;
    heartbeatPort: number;
}

/**
 * The standby server: a small Hetzner box whose firewall admits SSH from the
 * primary and the admins and heartbeats from the primary only; everything else
 * reaches it through the tunnel. Its SSH host key is made here and pinned, so
 * the first connection is already verified.
 */
export class HetznerStandby extends pulumi.ComponentResource {
    readonly address: pulumi.Output<string>;
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
                    { direction: "in", protocol: "tcp", port: String(args.heartbeatPort), sourceIps: args.heartbeatSourceCidrs, description: "heartbeats from the primary" },
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
        this.hostKey = pulumi.unsecret(hostKeys.apply((k) => k.publicKeyOpenSsh.split(" ").slice(0, 2).join(" ")));
        this.serverId = server.id;
        this.registerOutputs({ address: this.address, hostKey: this.hostKey, serverId: this.serverId });
    }
}

/** cloud-init takes YAML, and JSON is YAML: the static part lives in host/cloud-init, the host keys are added here. */
export function cloudInit(hostPrivateKey: string, hostPublicKey: string): string {
    const base = JSON.parse(readAsset("cloud-init/standby.json")) as Record<string, unknown>;
    const config = { ...base, ssh_keys: { ed25519_private: hostPrivateKey, ed25519_public: hostPublicKey } };
    return `#cloud-config\n${JSON.stringify(config, null, 2)}\n`;
}
