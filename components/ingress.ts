import type { ServiceName } from "./config-schema";

export const CLOUDFLARED_CONFIG_PATH = "/etc/cloudflared/wirebot.yml";
export const CLOUDFLARED_CREDENTIALS_PATH = "/etc/cloudflared/wirebot-credentials.json";

export interface IngressRule {
    hostname?: string;
    service: string;
}

export interface Route {
    hostname: string;
    service: Extract<ServiceName, "gateway" | "scoreboard">;
}

const ORIGIN_PORTS: Record<Route["service"], number> = { gateway: 18789, scoreboard: 8100 };

/** helm -> gateway, wins/api -> scoreboard, client hostnames -> gateway, then a 404 for anything else. */
export function ingressRules(routes: Route[], tenantHostnames: string[]): IngressRule[] {
    return [
        ...routes.map((r) => ({ hostname: r.hostname, service: `http://localhost:${ORIGIN_PORTS[r.service]}` })),
        ...tenantHostnames.map((hostname) => ({ hostname, service: `http://localhost:${ORIGIN_PORTS.gateway}` })),
        { service: "http_status:404" },
    ];
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
