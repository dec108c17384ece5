import * as fs from "node:fs";
import type { Architecture, BinariesPerArchitecture, BinarySource, DrillConfig, PathsConfig } from "./schema";
import { architectureOfServerType, elfArchitecture } from "./architecture";
import { ConfigError, NAMESPACE, PrimaryConfig, StandbyConfig } from "./settings";
import { addressBlock, overlapsSubnet } from "./link-addresses";
import type { ServiceSpec } from "../render/service-units";

export function checkPrimary(config: PrimaryConfig, services: ServiceSpec[], problems: string[]): void {
    checkDuplicateHostnames([...config.routes.map((r) => r.hostname), ...config.tenantHostnames], "routes/tenantHostnames", problems);
    checkPaths(config.paths, problems);
    checkRoutedServices(config, services, problems);
    checkListeningPorts(services, problems);
    checkBinary(config.binaries.cloudflared, "cloudflared", config.primary.arch, "the primary", problems);
}

export function checkStandbyBinaries(config: StandbyConfig, standbyArch: Architecture, problems: string[]): void {
    checkBinary(config.binaries.cloudflared, "cloudflared", standbyArch, "the standby", problems);
    checkBinary(config.binaries.litestream, "litestream", standbyArch, "the standby", problems);
}

export function standbyArchitecture(config: StandbyConfig, problems: string[]): Architecture | undefined {
    if (config.standby.provider === "existing") return config.standby.existing.arch;
    const arch = architectureOfServerType(config.standby.hetzner.serverType);
    if (!arch) {
        problems.push(`${NAMESPACE}:standby.hetzner.serverType: bad value "${config.standby.hetzner.serverType}": unknown server family; use a cx/cpx/ccx (amd64) type, or a cax (arm64) type in an EU location; fix with: pulumi config set --path ${NAMESPACE}:standby.hetzner.serverType cpx11`);
    }
    return arch;
}

export function checkDuplicateHostnames(hostnames: string[], key: string, problems: string[]): void {
    const seen = new Set<string>();
    for (const name of hostnames) {
        if (seen.has(name)) {
            problems.push(`${NAMESPACE}:${key}: bad value "${name}": the hostname is listed twice; keep one entry per hostname`);
        }
        seen.add(name);
    }
}

function checkPaths(paths: PathsConfig, problems: string[]): void {
    const key = `${NAMESPACE}:paths`;
    const seen = new Set<string>();
    for (const db of paths.databases) {
        if (seen.has(db)) problems.push(`${key}.databases: bad value "${db}": listed twice; keep one entry per database`);
        seen.add(db);
        if (isWithin(db, paths.tenantsDir)) {
            problems.push(`${key}.databases: bad value "${db}": it is under tenantsDir ${paths.tenantsDir}, which is replicated by its directory watch; remove it from databases`);
        }
    }
    for (const live of [paths.dataRoot, ...paths.databases, paths.tenantsDir]) {
        if (isWithin(paths.replicaDir, live) || isWithin(live, paths.replicaDir)) {
            problems.push(`${key}.replicaDir: bad value "${paths.replicaDir}": it overlaps the live path ${live}; a replica must never share a path with a live database. Use a separate directory such as /var/lib/wirebot/replica`);
            break;
        }
    }
}

/** The tunnel routes each hostname to its service's port: a disabled service has none. */
function checkRoutedServices(config: PrimaryConfig, services: ServiceSpec[], problems: string[]): void {
    const enabled = new Set(services.map((s) => s.name));
    const enable = (name: string) => `pulumi config set --path ${NAMESPACE}:services.${name}.enabled true`;
    config.routes.forEach((route, i) => {
        if (enabled.has(route.service)) return;
        problems.push(`${NAMESPACE}:routes[${i}].service: bad value "${route.service}": services.${route.service} is disabled, so ${route.hostname} would reach nothing; fix with: ${enable(route.service)}, or route the hostname to an enabled service`);
    });
    if (config.tenantHostnames.length > 0 && !enabled.has("gateway")) {
        problems.push(`${NAMESPACE}:tenantHostnames: bad value ${JSON.stringify(config.tenantHostnames)}: client hostnames are routed to the gateway, and services.gateway is disabled; fix with: ${enable("gateway")}`);
    }
}

/** A command line that names its own port must name the configured one: the tunnel and the drill go there. */
function checkListeningPorts(services: ServiceSpec[], problems: string[]): void {
    for (const service of services) {
        const listens = /--port[= ]([0-9]+)\b/.exec(service.execStart)?.[1];
        if (listens === undefined || Number(listens) === service.port) continue;
        problems.push(`${NAMESPACE}:services.${service.name}.execStart: bad value "${service.execStart}": it listens on port ${listens}, but services.${service.name}.port is ${service.port}, where the tunnel and the fire drill go; fix with: pulumi config set --path ${NAMESPACE}:services.${service.name}.port ${listens}`);
    }
}

function isWithin(child: string, parent: string): boolean {
    const p = parent.endsWith("/") ? parent : parent + "/";
    return child === parent || child.startsWith(p);
}

/** The standby stack learns the primary's architecture, paths and witness route from the primary stack, so this runs once they are read. */
export function checkAgainstPrimary(config: StandbyConfig, primaryArch: Architecture, paths: PathsConfig, witnessPort: number, primaryHost: string): void {
    const problems: string[] = [];
    checkBinary(config.binaries.litestream, "litestream", primaryArch, "the primary", problems);
    checkDrillDatabase(config.agent.drill, paths, problems);
    checkAgentPort(config.agent.port, witnessPort, problems);
    checkLinkSubnet(config.link.subnet, [{ what: "the primary's address", value: primaryHost }], problems);
    // A Hetzner standby's firewall needs the primary's addresses just the same, and says so under its own key (standby.hetzner.primaryCidrs).
    if (config.standby.provider === "existing" && !config.link.primaryCidrs && !addressBlock(primaryHost)) {
        problems.push(
            `${NAMESPACE}:link.primaryCidrs: missing; the primary is reached as "${primaryHost}", a name the standby's firewall rule for the link cannot use. ` +
                `Set the public addresses the primary's WireGuard packets come from: pulumi config set --path '${NAMESPACE}:link.primaryCidrs[0]' 203.0.113.7/32`,
        );
    }
    if (problems.length > 0) throw new ConfigError(problems);
}

/** The standby's side of the link, known before the primary stack is read: its address and the CIDR blocks of the config. */
export function checkStandbyLink(config: StandbyConfig, problems: string[]): void {
    const { link } = config;
    const addresses: { what: string; value: string }[] = [];
    if (config.standby.provider === "existing") {
        const host = config.standby.existing.host;
        addresses.push({ what: "the standby's address", value: host });
        if (!link.standbyCidrs && !addressBlock(host)) {
            problems.push(
                `${NAMESPACE}:link.standbyCidrs: missing; the standby is reached as "${host}", a name the primary's firewall rule for the link cannot use. ` +
                    `Set the public addresses the standby's WireGuard packets come from: pulumi config set --path '${NAMESPACE}:link.standbyCidrs[0]' 198.51.100.20/32`,
            );
        }
    } else {
        for (const cidr of config.standby.hetzner.primaryCidrs ?? []) addresses.push({ what: "standby.hetzner.primaryCidrs", value: cidr });
        for (const cidr of config.standby.hetzner.adminCidrs) addresses.push({ what: "standby.hetzner.adminCidrs", value: cidr });
    }
    for (const cidr of link.primaryCidrs ?? []) addresses.push({ what: "link.primaryCidrs", value: cidr });
    for (const cidr of link.standbyCidrs ?? []) addresses.push({ what: "link.standbyCidrs", value: cidr });
    checkLinkSubnet(link.subnet, addresses, problems);
}

/** Subnets offered instead when the link's overlaps a host's public address. */
const SPARE_SUBNETS = ["10.119.98.0/30", "10.223.41.0/30", "192.168.219.0/30"];

/**
 * The link's addresses must not be anyone's public address: a host would
 * route its packets for the other host's SSH, Litestream and rsync into the
 * tunnel, which takes only the agents' port.
 */
function checkLinkSubnet(subnet: string, addresses: { what: string; value: string }[], problems: string[]): void {
    const hits = addresses.filter((a) => overlapsSubnet(subnet, a.value));
    if (hits.length === 0) return;
    const spare = SPARE_SUBNETS.find((candidate) => !addresses.some((a) => overlapsSubnet(candidate, a.value)));
    problems.push(
        `${NAMESPACE}:link.subnet: bad value "${subnet}": it overlaps ${hits.map((h) => `${h.what} ${h.value}`).join(", ")}; the link needs a private subnet no host uses, or the hosts would send their public traffic into it. ` +
            `Fix with: pulumi config set --path ${NAMESPACE}:link.subnet ${spare ?? "<a private /30 no host uses>"}`,
    );
}

/**
 * The primary stack's tunnel sends the witness path, from the public internet,
 * to `witnessPort` on the serving host: the agents must listen there, or the
 * standby's witness would never answer and whatever else listens there would.
 */
function checkAgentPort(port: number, witnessPort: number, problems: string[]): void {
    if (port === witnessPort) return;
    const key = `${NAMESPACE}:agent.port`;
    problems.push(
        `${key}: bad value ${port}: the primary stack's tunnel sends its witness path to port ${witnessPort} on the serving host, where the agents would not listen; ` +
            `set the same port on both stacks: pulumi config set --path -s primary ${key} ${port} && pulumi up -s primary, or pulumi config set --path ${key} ${witnessPort}`,
    );
}

/** The drill finds its event on the standby after a takeover, so it must go to a database that is replicated. */
function checkDrillDatabase(drill: DrillConfig, paths: PathsConfig, problems: string[]): void {
    if (!drill.event) return;
    const { database } = drill.event;
    if (paths.databases.includes(database) || isWithin(database, paths.tenantsDir)) return;
    const key = `${NAMESPACE}:agent.drill.event.database`;
    problems.push(
        `${key}: bad value "${database}": the primary stack does not replicate it (paths.databases: ${paths.databases.join(", ")}; tenantsDir: ${paths.tenantsDir}), ` +
            `so the drill could never find its event on the standby; fix with: pulumi config set --path ${key} <the scoreboard's database from paths.databases>, ` +
            `or pulumi config set --path ${NAMESPACE}:agent.drill.event false`,
    );
}

function checkBinary(
    sources: BinariesPerArchitecture,
    name: string,
    arch: Architecture,
    where: string,
    problems: string[],
): void {
    const key = `${NAMESPACE}:binaries.${name}.${arch}`;
    const source: BinarySource | undefined = sources[arch];
    if (!source) {
        problems.push(`${key}: missing; ${where} runs ${arch} and needs a ${name} built for it. Set {url, sha256} of the linux-${arch} release or {path} of a local binary: pulumi config set --path ${key}.path /path/to/${name}`);
        return;
    }
    if ("url" in source) {
        const other = arch === "amd64" ? /arm64|aarch64/ : /amd64|x86_64|x86-64/;
        if (other.test(source.url)) {
            problems.push(`${key}.url: bad value "${source.url}": the URL names another architecture but ${where} runs ${arch}; use the linux-${arch} release`);
        }
        return;
    }
    if (!fs.existsSync(source.path)) {
        problems.push(`${key}.path: bad value "${source.path}": no such file on this machine; build or download ${name} for linux-${arch} first`);
        return;
    }
    const actual = elfArchitecture(source.path);
    if (actual !== arch) {
        problems.push(`${key}.path: bad value "${source.path}": the file is ${actual ?? "not a Linux executable"} but ${where} runs ${arch}; give a linux-${arch} build`);
    }
}
