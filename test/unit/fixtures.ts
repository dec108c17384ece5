import { fakeBinary, RunOptions } from "./harness";

export const PRIMARY_HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPrimaryHostKeyForUnitTests0000000000000000";
export const STANDBY_HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIStandbyHostKeyForUnitTests0000000000000000";
export const ADMIN_PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAdminKeyForUnitTests000000000000000000000 admin@laptop";
export const FAKE_PRIVATE_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nunit-test-key\n-----END OPENSSH PRIVATE KEY-----\n";
export const TUNNEL_ID = "57df17a8-b9d1-4790-bab9-8157ac51641b";
export const ACCOUNT_ID = "0123456789abcdef0123456789abcdef";
export const ZONE_ID = "fedcba9876543210fedcba9876543210";
export const TUNNEL_SECRET = Buffer.alloc(32, 9).toString("base64");
export const TUNNEL_CREDENTIALS = JSON.stringify({ AccountTag: ACCOUNT_ID, TunnelSecret: TUNNEL_SECRET, TunnelID: TUNNEL_ID });

export const amd64Binary = fakeBinary("amd64");
export const arm64Binary = fakeBinary("arm64");

export function primaryOptions(overrides: Record<string, unknown> = {}): RunOptions {
    return {
        stack: "primary",
        config: {
            primary: { host: "203.0.113.10", hostKey: PRIMARY_HOST_KEY },
            primarySshKey: FAKE_PRIVATE_KEY,
            tunnel: { mode: "create", accountId: ACCOUNT_ID, zoneId: ZONE_ID },
            "cloudflare:apiToken": "cf-token",
            tenantHostnames: ["ai.clientbiz.com"],
            binaries: { cloudflared: { amd64: { path: amd64Binary } } },
            ...overrides,
        },
        secretKeys: ["primarySshKey", "tunnelCredentials", "cloudflare:apiToken"],
    };
}

export function adoptedPrimaryOptions(overrides: Record<string, unknown> = {}): RunOptions {
    return primaryOptions({
        tunnel: { mode: "adopt" },
        tunnelCredentials: TUNNEL_CREDENTIALS,
        "cloudflare:apiToken": undefined,
        ...overrides,
    });
}

/** What the primary stack exports, as the standby and tenant stacks read it. */
export const PRIMARY_OUTPUTS = {
    activeSide: "primary",
    tunnelId: TUNNEL_ID,
    tunnelCredentials: TUNNEL_CREDENTIALS,
    cloudflaredConfig: "# Managed by wirebot-failover.\n{}\n",
    ingressHostnames: ["helm.wirebot.chat", "wins.wirebot.chat", "api.wirebot.chat", "ai.clientbiz.com"],
    witness: { url: "https://helm.wirebot.chat/.well-known/wirebot/serving", agentPort: 8300 },
    primaryHost: { host: "203.0.113.10", port: 22, user: "root", hostKey: PRIMARY_HOST_KEY, arch: "amd64" },
    primarySshKey: FAKE_PRIVATE_KEY,
    paths: {
        dataRoot: "/data/wirebot",
        workspace: "/home/wirebot/clawd",
        databases: ["/data/wirebot/users/verious/memory/verious.sqlite", "/data/wirebot/scoreboard/events.db", "/data/wirebot/mem0/history.db"],
        tenantsDir: "/data/wirebot/scoreboard/tenants",
        replicaDir: "/var/lib/wirebot/replica",
        fileSync: ["/data/wirebot/users/verious", "/home/wirebot/clawd"],
        binaries: "/data/wirebot/bin",
    },
    services: [
        { name: "gateway", unit: "openclaw-gateway.service", enabled: true, execStart: "/usr/bin/openclaw gateway --port 18789", user: "wirebot", port: 18789 },
        { name: "scoreboard", unit: "wirebot-scoreboard.service", enabled: true, execStart: "/data/wirebot/bin/wirebot-scoreboard", user: "wirebot", port: 8100 },
    ],
};

export const STANDBY_OUTPUTS = {
    activeSide: "primary",
    standbyAddress: "198.51.100.20",
    standbyArch: "amd64",
    standbyHostKey: STANDBY_HOST_KEY,
    standbySshKey: FAKE_PRIVATE_KEY,
    standbyHost: { port: 22, user: "root" },
};

const STACK_SECRETS = ["tunnelCredentials", "primarySshKey", "standbySshKey"];

export function standbyOptions(overrides: Record<string, unknown> = {}): RunOptions {
    return {
        stack: "standby",
        config: {
            standby: { provider: "hetzner", hetzner: { sshPublicKey: ADMIN_PUBLIC_KEY, adminCidrs: ["192.0.2.44/32"] } },
            standbySshKey: FAKE_PRIVATE_KEY,
            "hcloud:token": "hcloud-token",
            binaries: {
                litestream: { amd64: { path: amd64Binary } },
                cloudflared: { amd64: { url: "https://example.com/cloudflared-linux-amd64", sha256: "a".repeat(64) } },
            },
            ...overrides,
        },
        secretKeys: ["standbySshKey", "heartbeatToken", "alertWebhookUrl", "hcloud:token"],
        stackOutputs: { "organization/wirebot-failover/primary": PRIMARY_OUTPUTS },
        stackSecretOutputs: STACK_SECRETS,
    };
}

export function existingStandbyOptions(overrides: Record<string, unknown> = {}): RunOptions {
    return standbyOptions({
        standby: { provider: "existing", existing: { host: "10.77.0.11", hostKey: STANDBY_HOST_KEY, arch: "amd64" } },
        "hcloud:token": undefined,
        binaries: {
            litestream: { amd64: { path: amd64Binary } },
            cloudflared: { amd64: { path: amd64Binary } },
        },
        heartbeatToken: "h".repeat(40),
        ...overrides,
    });
}

export function tenantOptions(overrides: Record<string, unknown> = {}): RunOptions {
    return {
        stack: "tenant-acme",
        config: {
            hostnames: ["ai.clientbiz.com"],
            zoneId: ZONE_ID,
            "cloudflare:apiToken": "cf-token",
            tenantSecrets: JSON.stringify({ OPENAI_API_KEY: "sk-tenant-secret", BRAND: "Acme" }),
            ...overrides,
        },
        secretKeys: ["tenantSecrets", "cloudflare:apiToken"],
        stackOutputs: {
            "organization/wirebot-failover/primary": PRIMARY_OUTPUTS,
            "organization/wirebot-failover/standby": STANDBY_OUTPUTS,
        },
        stackSecretOutputs: STACK_SECRETS,
    };
}
