import { WITNESS_PATH } from "../../agent/contract";
import type { ServiceName } from "../config/schema";
import type { ServiceSpec } from "./service-units";

export const CLOUDFLARED_CONFIG_PATH = "/etc/cloudflared/wirebot.yml";
export const CLOUDFLARED_CREDENTIALS_PATH = "/etc/cloudflared/wirebot-credentials.json";

export interface IngressRule {
    hostname?: string;
    /** A regular expression the request's path must match (cloudflared's and Cloudflare's `path`). */
    path?: string;
    service: string;
}

export interface Route {
    hostname: string;
    service: Extract<ServiceName, "gateway" | "scoreboard">;
}

/** The witness path exactly, as cloudflared's path rule (a regular expression). */
export const WITNESS_PATH_PATTERN = `^${WITNESS_PATH.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`;

/** Where the standby and the primary ask which host serves: the witness path on the tunnel's first hostname. */
export function witnessUrl(routes: Route[]): string {
    return `https://${routes[0].hostname}${WITNESS_PATH}`;
}

/**
 * First the witness path on the first route's hostname, to the agent on the
 * serving host (the connector reaches it on localhost at `agentPort`); then
 * helm -> gateway, wins/api -> scoreboard, client hostnames -> gateway, each at
 * the port its service is configured with, then a 404 for anything else.
 */
export function ingressRules(routes: Route[], tenantHostnames: string[], services: ServiceSpec[], agentPort: number): IngressRule[] {
    const origin = (name: Route["service"]) => `http://localhost:${portOf(services, name)}`;
    return [
        { hostname: routes[0].hostname, path: WITNESS_PATH_PATTERN, service: `http://localhost:${agentPort}` },
        ...routes.map((r) => ({ hostname: r.hostname, service: origin(r.service) })),
        ...tenantHostnames.map((hostname) => ({ hostname, service: origin("gateway") })),
        { service: "http_status:404" },
    ];
}

function portOf(services: ServiceSpec[], name: Route["service"]): number {
    const service = services.find((s) => s.name === name);
    // The config check refuses a route to a disabled service before any resource exists.
    if (!service) throw new Error(`no enabled ${name} service to route to`);
    return service.port;
}

/**
 * The connector's local config. cloudflared reads YAML, and JSON is YAML, so the
 * structure is serialised rather than templated.
 */
export function cloudflaredConfig(tunnelId: string, rules: IngressRule[]): string {
    const config = {
        tunnel: tunnelId,
        "credentials-file": CLOUDFLARED_CREDENTIALS_PATH,
        "no-autoupdate": true,
        ingress: rules,
    };
    return `# Managed by wirebot-failover.\n${JSON.stringify(config, null, 2)}\n`;
}
