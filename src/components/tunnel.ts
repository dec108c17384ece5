import * as pulumi from "@pulumi/pulumi";
import * as cloudflare from "@pulumi/cloudflare";
import * as random from "@pulumi/random";
import type { TunnelCredentials } from "../config/schema";
import { cloudflaredConfig, ingressRules, Route, witnessUrl } from "../render/ingress";
import type { ServiceSpec } from "../render/service-units";

export type TunnelSource =
    | { mode: "create"; name: string; accountId: string }
    | { mode: "adopt"; credentials: pulumi.Output<TunnelCredentials> };

export interface TunnelArgs {
    source: TunnelSource;
    routes: Route[];
    tenantHostnames: string[];
    /** The enabled services: each route goes to its service's configured port. */
    services: ServiceSpec[];
    /** Where the agents listen: the witness path goes to the agent on the serving host. */
    agentPort: number;
    /** Set to manage a CNAME per route hostname in this zone. */
    dnsZoneId?: string;
}

/**
 * The Cloudflare tunnel both hosts connect to, one connector at a time: created
 * with a random secret and remotely managed ingress, or adopted from an existing
 * tunnel's credentials.
 */
export class Tunnel extends pulumi.ComponentResource {
    readonly tunnelId: pulumi.Output<string>;
    /** The credentials JSON each connector reads: a secret. */
    readonly credentialsJson: pulumi.Output<string>;
    /** The connector's local config, identical on both hosts. */
    readonly connectorConfig: pulumi.Output<string>;
    readonly hostnames: string[];
    /** The witness route: the agent of whichever host serves answers there, signed. */
    readonly witnessUrl: string;

    constructor(name: string, args: TunnelArgs, opts?: pulumi.ComponentResourceOptions) {
        super("wirebot:cloudflare:Tunnel", name, {}, opts);
        const rules = ingressRules(args.routes, args.tenantHostnames, args.services, args.agentPort);
        const { tunnelId, credentials } =
            args.source.mode === "create" ? this.create(name, args.source, rules) : adopt(args.source.credentials);
        this.tunnelId = tunnelId;
        this.credentialsJson = pulumi.secret(credentials.apply((c) => JSON.stringify(c)));
        this.connectorConfig = tunnelId.apply((id) => cloudflaredConfig(id, rules));
        this.hostnames = [...args.routes.map((r) => r.hostname), ...args.tenantHostnames];
        this.witnessUrl = witnessUrl(args.routes);
        if (args.dnsZoneId) {
            for (const route of args.routes) tunnelCname(route.hostname, args.dnsZoneId, tunnelId, this);
        }
        this.registerOutputs({ tunnelId: this.tunnelId, hostnames: this.hostnames });
    }

    private create(name: string, source: Extract<TunnelSource, { mode: "create" }>, rules: ReturnType<typeof ingressRules>) {
        const secret = new random.RandomBytes(`${name}-secret`, { length: 32 }, { parent: this });
        const tunnel = new cloudflare.ZeroTrustTunnelCloudflared(
            name,
            { accountId: source.accountId, name: source.name, configSrc: "cloudflare", tunnelSecret: secret.base64 },
            { parent: this },
        );
        new cloudflare.ZeroTrustTunnelCloudflaredConfig(
            `${name}-ingress`,
            { accountId: source.accountId, tunnelId: tunnel.id, config: { ingresses: rules } },
            { parent: this },
        );
        const credentials = pulumi.secret(
            pulumi.all([tunnel.id, secret.base64]).apply(([id, s]) => ({ AccountTag: source.accountId, TunnelSecret: s, TunnelID: id })),
        );
        return { tunnelId: tunnel.id, credentials };
    }
}

function adopt(credentials: pulumi.Output<TunnelCredentials>) {
    // The tunnel id names the tunnel in DNS and configs; only the secret is secret.
    return { tunnelId: pulumi.unsecret(credentials.apply((c) => c.TunnelID)), credentials };
}

/** A proxied CNAME to the tunnel: Cloudflare routes the hostname to whichever connector is up. */
export function tunnelCname(hostname: string, zoneId: string, tunnelId: pulumi.Input<string>, parent: pulumi.Resource): cloudflare.DnsRecord {
    return new cloudflare.DnsRecord(
        `dns-${hostname}`,
        {
            zoneId,
            name: hostname,
            type: "CNAME",
            content: pulumi.interpolate`${tunnelId}.cfargotunnel.com`,
            proxied: true,
            ttl: 1,
            comment: "wirebot-failover: routed through the Cloudflare tunnel",
        },
        { parent },
    );
}
