import { z } from "zod";
import { TENANT_ID_PATTERN } from "../../agent/contract";
import { linkSubnetProblem } from "./link-addresses";

// Every message says what a good value looks like, because it is shown to the
// operator verbatim next to the key and the bad value.

export const SERVICE_NAMES = ["gateway", "scoreboard", "mem0", "memory-syncd", "letta"] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];
export const ARCHITECTURES = ["amd64", "arm64"] as const;
export type Architecture = (typeof ARCHITECTURES)[number];
export const SIDES = ["primary", "standby"] as const;

const hostnameLabel = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

export const hostname = z
    .string()
    .refine(
        (v) => v.length <= 253 && v.includes(".") && v.split(".").every((label) => hostnameLabel.test(label)),
        "must be a lower-case DNS name such as helm.example.com",
    );

const hostAddress = z
    .string()
    .refine(
        (v) => !z.ipv6().safeParse(v).success,
        "is an IPv6 address, which the agents' URLs and the rsync and Litestream (SFTP) targets would need in brackets and do not get; give the host's IPv4 address, or a DNS name (one with only an AAAA record is fine)",
    )
    .refine(
        (v) => z.ipv4().safeParse(v).success || z.ipv6().safeParse(v).success || hostname.safeParse(v).success,
        "must be an IPv4 address or a DNS name of the host",
    );

export const port = z.number().int().min(1).max(65535, "must be a TCP port between 1 and 65535");

// Paths go unescaped into rsync and Litestream targets (where ':' splits host and
// path), systemd lines (where '=' and '%' mean something) and shell scripts
// (where spaces, quotes and glob characters do): they are kept to characters
// that mean nothing anywhere.
const PATH_CHARACTER = /[A-Za-z0-9._/+@-]/g;

export const absolutePath = z
    .string()
    .refine((v) => v.startsWith("/"), "must be an absolute path such as /data/wirebot")
    .refine((v) => !v.split("/").includes(".."), "must not contain '..' segments")
    .superRefine((v, ctx) => {
        const others = [...new Set(v.replace(PATH_CHARACTER, ""))];
        if (others.length === 0) return;
        ctx.addIssue({
            code: "custom",
            input: v,
            message:
                `holds ${others.map((c) => JSON.stringify(c)).join(", ")}; a path may hold only letters, digits and . _ - + @ / ` +
                "(':' splits rsync and Litestream targets, '=' and '%' change systemd lines, spaces, quotes and * ? [ ] change shell words); " +
                "rename the directory, or link it from such a path",
        });
    });

const sshPublicKey = z
    .string()
    .regex(
        /^(ssh-ed25519|ecdsa-sha2-nistp256|ecdsa-sha2-nistp384|ecdsa-sha2-nistp521|ssh-rsa) [A-Za-z0-9+/]+={0,3}( .*)?$/,
        "must be an OpenSSH public key line such as 'ssh-ed25519 AAAA...' (ssh-keyscan -t ed25519 HOST prints it)",
    );

const cidr = z
    .string()
    .refine(
        (v) => z.cidrv4().safeParse(v).success || z.cidrv6().safeParse(v).success,
        "must be a CIDR block such as 203.0.113.7/32",
    );

const unixUser = z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, "must be a Unix user name such as root or wirebot");

const duration = z
    .string()
    .regex(/^[0-9]+(ms|s|m)$/, "must be a duration such as 1s, 500ms or 1m");

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, "must be 64 lower-case hex digits (sha256sum prints it)");

export const binarySource = z.union([
    z.strictObject({
        url: z.url({ protocol: /^https$/, error: "must be an https:// URL of the release binary or tarball" }),
        sha256,
    }),
    z.strictObject({ path: absolutePath }),
]);
export type BinarySource = z.infer<typeof binarySource>;

const perArchitecture = z.strictObject({ amd64: binarySource.optional(), arm64: binarySource.optional() });
export type BinariesPerArchitecture = z.infer<typeof perArchitecture>;

export const sshHost = z.strictObject({
    host: hostAddress,
    port: port.default(22),
    user: unixUser.default("root"),
    hostKey: sshPublicKey,
    arch: z.enum(ARCHITECTURES).default("amd64"),
});

const service = z.strictObject({
    enabled: z.boolean().optional(),
    execStart: z
        .string()
        .refine((v) => v.startsWith("/"), "must start with the absolute path of the program")
        // The command lands in the unit file as one line; '%' is escaped there (service-units.ts).
        .refine(
            (v) => !/[\u0000-\u001f\u007f]/.test(v),
            "must be one line without control characters: a newline would start lines of its own in the unit file; put a longer command in a script and give the script's path",
        )
        .refine((v) => !v.endsWith("\\"), "must not end in a backslash, which would join the unit file's next line to the command; remove it"),
    user: unixUser.default("wirebot"),
    workingDirectory: absolutePath.optional(),
    environmentFile: absolutePath.optional(),
    port: port.optional(),
});
export type ServiceConfig = z.infer<typeof service>;

export interface ServiceDefaults {
    unit: string;
    enabled: boolean;
    /** Made from the configured port, so a program that takes its port on the command line listens where the tunnel and the drill go. */
    execStart: (port: number) => string;
    user: string;
    port: number;
}

export const SERVICE_DEFAULTS: Record<ServiceName, ServiceDefaults> = {
    gateway: { unit: "openclaw-gateway", enabled: true, execStart: (port) => `/usr/bin/openclaw gateway --port ${port}`, user: "wirebot", port: 18789 },
    scoreboard: { unit: "wirebot-scoreboard", enabled: true, execStart: () => "/data/wirebot/bin/wirebot-scoreboard", user: "wirebot", port: 8100 },
    mem0: { unit: "mem0-wirebot", enabled: false, execStart: () => "/usr/bin/python3 /data/wirebot/mem0/mem0-server.py", user: "wirebot", port: 8200 },
    "memory-syncd": { unit: "wirebot-memory-syncd", enabled: false, execStart: () => "/data/wirebot/bin/wirebot-memory-syncd", user: "wirebot", port: 8201 },
    letta: { unit: "letta-wirebot", enabled: false, execStart: () => "/usr/bin/podman start --attach letta-wirebot", user: "root", port: 8283 },
};

const services = z
    .record(z.string(), service.partial())
    .superRefine((value, ctx) => {
        for (const name of Object.keys(value)) {
            if (!(SERVICE_NAMES as readonly string[]).includes(name)) {
                ctx.addIssue({
                    code: "custom",
                    path: [name],
                    input: name,
                    message: `is not a known service; use one of ${SERVICE_NAMES.join(", ")}`,
                });
            }
        }
    })
    .default({});

const route = z.strictObject({
    hostname,
    service: z.enum(["gateway", "scoreboard"], { error: "must be gateway or scoreboard" }),
});

const DEFAULT_ROUTES = [
    { hostname: "helm.wirebot.chat", service: "gateway" as const },
    { hostname: "wins.wirebot.chat", service: "scoreboard" as const },
    { hostname: "api.wirebot.chat", service: "scoreboard" as const },
];

const tunnel = z.discriminatedUnion(
    "mode",
    [
        z.strictObject({
            mode: z.literal("create"),
            name: z.string().regex(/^[A-Za-z0-9_.-]{1,63}$/, "must be a tunnel name such as wirebot").default("wirebot"),
            accountId: z.string().regex(/^[0-9a-f]{32}$/, "must be the 32-hex-digit Cloudflare account id"),
            zoneId: z.string().regex(/^[0-9a-f]{32}$/, "must be the 32-hex-digit Cloudflare zone id").optional(),
            manageDns: z.boolean().default(true),
        }),
        z.strictObject({
            mode: z.literal("adopt"),
            zoneId: z.string().regex(/^[0-9a-f]{32}$/, "must be the 32-hex-digit Cloudflare zone id").optional(),
            manageDns: z.boolean().default(false),
        }),
    ],
    { error: "mode must be create (a new tunnel) or adopt (an existing tunnel's credentials)" },
);

const paths = z
    .strictObject({
        dataRoot: absolutePath.default("/data/wirebot"),
        workspace: absolutePath.default("/home/wirebot/clawd"),
        databases: z
            .array(absolutePath)
            .min(1)
            .default([
                "/data/wirebot/users/verious/memory/verious.sqlite",
                "/data/wirebot/scoreboard/events.db",
                "/data/wirebot/mem0/history.db",
            ]),
        tenantsDir: absolutePath.default("/data/wirebot/scoreboard/tenants"),
        replicaDir: absolutePath.default("/var/lib/wirebot/replica"),
        /** The workspace is synced whether listed or not, so the default leaves it out. */
        fileSync: z
            .array(absolutePath)
            .default(["/data/wirebot/users/verious", "/data/wirebot/discovery", "/run/wirebot"]),
        /** Synced only when both hosts share an architecture: a binary for the other one would not run. */
        binaries: absolutePath.default("/data/wirebot/bin"),
    })
    .prefault({});

const binaries = z
    .strictObject({ litestream: perArchitecture.default({}), cloudflared: perArchitecture.default({}) })
    .prefault({});

export const DEFAULT_DRILL_SCHEDULE = "Sun *-*-01..07 03:00:00 America/Los_Angeles";

const drill = z
    .strictObject({
        /** A systemd OnCalendar expression, or "off". */
        schedule: z
            .string()
            .regex(/^(off|[A-Za-z0-9*:.,~/ _+-]{1,120})$/, 'must be a systemd calendar expression such as "Sun *-*-01..07 03:00:00 America/Los_Angeles", or off')
            .default(DEFAULT_DRILL_SCHEDULE),
        chat: z
            .union([z.literal(false), z.strictObject({ path: z.string().startsWith("/", "must be a URL path such as /v1/chat/completions").default("/v1/chat/completions"), model: z.string().min(1).default("openclaw") })])
            .prefault({}),
        event: z
            .union([
                z.literal(false),
                z.strictObject({
                    path: z.string().startsWith("/", "must be a URL path such as /v1/events").default("/v1/events"),
                    database: absolutePath.default("/data/wirebot/scoreboard/events.db"),
                    table: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be a table name such as events").default("events"),
                    idColumn: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be a column name such as id").default("id"),
                }),
            ])
            .prefault({}),
    })
    .prefault({});
export type DrillConfig = z.infer<typeof drill>;

/** The agents' port: the standby stack's agents listen on it, and the primary stack's tunnel routes the witness path to it. */
export const DEFAULT_AGENT_PORT = 8300;

const agent = z
    .strictObject({
        port: port.default(DEFAULT_AGENT_PORT),
        heartbeatIntervalSeconds: z
            .number()
            .int()
            .min(1, "must be between 1 and 60 seconds")
            .max(60, "must be between 1 and 60 seconds")
            .default(10),
        missThreshold: z.number().int().min(1).max(20, "must be between 1 and 20 missed heartbeats").default(3),
        autoActivate: z.boolean().default(true),
        witnessUrl: z.url({ protocol: /^https?$/, error: "must be an http(s) URL that says which side serves" }).optional(),
        nodePath: absolutePath.default("/usr/bin/node"),
        fileSyncDebounceSeconds: z.number().int().min(1).max(60, "must be between 1 and 60 seconds").default(5),
        drill,
    })
    .prefault({});

/**
 * The WireGuard link the agents talk over. The defaults keep clear of a
 * WireGuard setup of the operator's own (wg0, UDP 51820, 10.0.0.0/24 as the
 * usual guides have it): another interface name, another port, a small subnet.
 */
export const DEFAULT_LINK = { interface: "wirebot", port: 51830, subnet: "10.119.98.0/30" } as const;

const link = z
    .strictObject({
        /** The network interface on both hosts, and wg-quick@<interface>.service, /etc/wireguard/<interface>.conf and .key. */
        interface: z
            .string()
            .regex(/^[a-z][a-z0-9_-]{0,14}$/, "must be a network interface name: 1 to 15 lower-case letters, digits, _ or -, starting with a letter, such as wirebot")
            .refine((v) => v !== "lo", "is the loopback interface; pick a name no interface uses, such as wirebot")
            .default(DEFAULT_LINK.interface),
        /** WireGuard's UDP port on both hosts. */
        port: z.number().int().min(1, "must be a UDP port between 1 and 65535").max(65535, "must be a UDP port between 1 and 65535").default(DEFAULT_LINK.port),
        /** The link's private subnet: .1 is the primary, .2 the standby. */
        subnet: z
            .string()
            .superRefine((v, ctx) => {
                const problem = linkSubnetProblem(v);
                if (problem) ctx.addIssue({ code: "custom", input: v, message: problem });
            })
            .default(DEFAULT_LINK.subnet),
        /** Where the primary's WireGuard packets come from, when its SSH host is a DNS name (the standby takes the link's UDP port from these only). */
        primaryCidrs: z.array(cidr).min(1, "must list at least one CIDR block such as 203.0.113.7/32").optional(),
        /** Where the standby's WireGuard packets come from, when an existing standby's SSH host is a DNS name. */
        standbyCidrs: z.array(cidr).min(1, "must list at least one CIDR block such as 198.51.100.20/32").optional(),
    })
    .prefault({});
export type LinkConfig = z.infer<typeof link>;

// The smallest x86 type in Ashburn: creatable there (Hetzner's ARM types are
// EU-only) and amd64 like most primaries, so binaries can be synced as they are.
const hetzner = z.strictObject({
    serverType: z.string().regex(/^[a-z]+[0-9]+$/, "must be a Hetzner server type such as cpx11 or cax11").default("cpx11"),
    location: z.string().regex(/^[a-z]{3}[0-9]?$/, "must be a Hetzner location such as ash, hil, fsn1 or nbg1").default("ash"),
    image: z.string().min(1).default("debian-12"),
    name: z.string().regex(/^[a-z0-9-]{1,63}$/, "must be a server name such as wirebot-standby").default("wirebot-standby"),
    sshPublicKey: sshPublicKey,
    adminCidrs: z.array(cidr).default([]),
    /** The primary's public addresses, when its SSH host is a DNS name rather than an IP. */
    primaryCidrs: z.array(cidr).optional(),
});

const standby = z.discriminatedUnion(
    "provider",
    [
        z.strictObject({ provider: z.literal("hetzner"), hetzner }),
        z.strictObject({ provider: z.literal("existing"), existing: sshHost }),
    ],
    { error: "provider must be hetzner (create a server) or existing (an SSH host you already run)" },
);

const commonShape = {
    activeSide: z.enum(SIDES, { error: "must be primary or standby" }).default("primary"),
    binaries,
    remoteTimeoutSeconds: z.number().int().min(10).max(3600, "must be between 10 and 3600 seconds").default(300),
};

// Paths and services live in the primary stack only: the standby reads them from
// the primary's outputs, so the two hosts can never disagree about them.
export const primarySchema = z.strictObject({
    ...commonShape,
    paths,
    services,
    primary: sshHost,
    tunnel,
    routes: z.array(route).min(1, "must list at least one hostname").default(DEFAULT_ROUTES),
    tenantHostnames: z.array(hostname).default([]),
    /** Only the port here: the tunnel routes the witness path to the agent listening on it (the standby stack's agent.port). */
    agent: z.strictObject({ port: port.default(DEFAULT_AGENT_PORT) }).prefault({}),
});

export const standbySchema = z.strictObject({
    ...commonShape,
    primaryStack: z.string().min(1).optional(),
    standby,
    agent,
    link,
    litestream: z
        .strictObject({
            syncInterval: duration.default("1s"),
            /** Tenant databases the standby's sshd admits Litestream's connections for, all at once (one per database). */
            maxTenants: z
                .number()
                .int("must be a whole number of tenant databases")
                .min(0, "must be between 0 and 2000 tenant databases")
                .max(2000, "must be between 0 and 2000 tenant databases")
                .default(200),
        })
        .prefault({}),
});

export type PathsConfig = z.infer<typeof paths>;
export type AgentConfig = z.infer<typeof agent>;

export const tenantSchema = z.strictObject({
    tenantId: z.string().regex(TENANT_ID_PATTERN, "must be 2-32 lower-case letters, digits or dashes"),
    hostnames: z.array(hostname).min(1, "must list at least one hostname for the tenant"),
    zoneId: z.string().regex(/^[0-9a-f]{32}$/, "must be the 32-hex-digit Cloudflare zone id").optional(),
    manageDns: z.boolean().default(true),
    primaryStack: z.string().min(1).optional(),
    standbyStack: z.string().min(1).optional(),
    remoteTimeoutSeconds: commonShape.remoteTimeoutSeconds,
});

export const tunnelCredentials = z.strictObject({
    AccountTag: z.string().regex(/^[0-9a-f]{32}$/, "AccountTag must be the 32-hex-digit account id"),
    TunnelSecret: z.string().refine((v) => Buffer.from(v, "base64").length >= 32, "TunnelSecret must be base64 of at least 32 bytes"),
    TunnelID: z.uuid({ error: "TunnelID must be the tunnel's UUID" }),
    Endpoint: z.string().optional(),
});
export type TunnelCredentials = z.infer<typeof tunnelCredentials>;
