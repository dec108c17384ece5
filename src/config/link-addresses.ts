import * as net from "node:net";

// The WireGuard link between the primary and the standby: its private subnet,
// the two addresses in it, and the public endpoints the tunnel runs between.

/** An IPv4 block as numbers: its first address and its prefix length. */
export interface Ipv4Block {
    network: number;
    prefix: number;
}

/** The private ranges of RFC 1918: nothing on the internet routes them, so the link's addresses never name a public host. */
const PRIVATE_RANGES = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"];

export function ipv4ToNumber(address: string): number {
    return address.split(".").reduce((n, octet) => n * 256 + Number(octet), 0);
}

export function numberToIpv4(n: number): string {
    return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join(".");
}

/** `a.b.c.d/n` as a block, or undefined when it is not one. */
export function parseIpv4Block(text: string): Ipv4Block | undefined {
    const match = /^([0-9.]+)\/([0-9]{1,2})$/.exec(text);
    if (!match || !net.isIPv4(match[1])) return undefined;
    const prefix = Number(match[2]);
    if (prefix > 32) return undefined;
    return { network: ipv4ToNumber(match[1]), prefix };
}

function first(block: Ipv4Block): number {
    return block.network - (block.network % 2 ** (32 - block.prefix));
}

function last(block: Ipv4Block): number {
    return first(block) + 2 ** (32 - block.prefix) - 1;
}

export function blocksOverlap(a: Ipv4Block, b: Ipv4Block): boolean {
    return first(a) <= last(b) && first(b) <= last(a);
}

/** Why a subnet cannot be the link's, or undefined when it can: IPv4, /30 or wider, its own network address, inside a private range. */
export function linkSubnetProblem(text: string): string | undefined {
    const block = parseIpv4Block(text);
    if (!block) return "must be an IPv4 subnet in CIDR notation such as 10.119.98.0/30";
    if (block.prefix > 30) return "must be a /30 or wider: the link needs two host addresses in it (.1 for the primary, .2 for the standby)";
    if (first(block) !== block.network) {
        return `has host bits set; its network address is ${numberToIpv4(first(block))}/${block.prefix}: give that`;
    }
    if (!PRIVATE_RANGES.some((range) => { const r = parseIpv4Block(range)!; return first(block) >= first(r) && last(block) <= last(r); })) {
        return "must lie inside a private range (10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16), where no public host's address can be";
    }
    return undefined;
}

/** The link's two addresses: the first host address for the primary, the second for the standby. */
export function linkAddresses(subnet: string): { primary: string; standby: string; prefix: number } {
    const block = parseIpv4Block(subnet)!;
    return { primary: numberToIpv4(first(block) + 1), standby: numberToIpv4(first(block) + 2), prefix: block.prefix };
}

/** Whether an address or block (IPv4 only; anything else cannot overlap an IPv4 subnet) lies in or across the subnet. */
export function overlapsSubnet(subnet: string, addressOrBlock: string): boolean {
    const block = net.isIPv4(addressOrBlock) ? parseIpv4Block(`${addressOrBlock}/32`) : parseIpv4Block(addressOrBlock);
    const link = parseIpv4Block(subnet);
    return block !== undefined && link !== undefined && blocksOverlap(block, link);
}

/** `host:port` as WireGuard's Endpoint takes it: an IPv6 address in brackets, a name or IPv4 address as it is. */
export function endpointOf(host: string, port: number): string {
    return net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}

/** A host's own address as a block (/32 or /128), or undefined for a DNS name, which no firewall rule can take. */
export function addressBlock(host: string): string | undefined {
    if (net.isIPv4(host)) return `${host}/32`;
    if (net.isIPv6(host)) return `${host}/128`;
    return undefined;
}
