import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { existingStandbyOptions, PRIMARY_OUTPUTS, standbyOptions } from "./fixtures";
import { fileContent, LINK_PUBLIC_KEYS, ProgramRun, reloadedWithNftables, runProgram } from "./harness";
import { endpointOf, linkAddresses, linkSubnetProblem, overlapsSubnet } from "../../src/config/link-addresses";
import { DEFAULT_LINK } from "../../src/config/schema";
import { firewallRules } from "../../src/components/agent-link";
import { promiseOf } from "./harness";

// The WireGuard link the agents talk over, as the standby stack declares it:
// where each agent listens and calls, the keys (made on the hosts, never in
// the program), the wg-quick configs, the firewall rules on both hosts and in
// front of a Hetzner standby.

const agentConfig = (run: ProgramRun, host: "primary" | "standby") => JSON.parse(fileContent(run, `${host}-file-etc-wirebot-agent.json`));
const stdinOf = (run: ProgramRun, name: string): string => run.byName(name).inputs.stdin;
/** A step's input as the host's script receives it: the shell assignment at the top of its stdin. */
const input = (run: ProgramRun, step: string, name: string): string => {
    const match = new RegExp(`^${name}='((?:[^']|'\\\\'')*)'$`, "m").exec(stdinOf(run, step));
    assert.ok(match, `${step} has no input ${name}`);
    return match[1].replace(/'\\''/g, "'");
};

const variants = [
    ["on Hetzner", () => standbyOptions()],
    ["on an existing host", () => existingStandbyOptions()],
] as const;

describe("the agents' link", () => {
    for (const [variant, options] of variants) {
        it(`keeps the watchdog off every public address: loopback and its link address only, never a wildcard (${variant})`, async () => {
            const run = await runProgram(options());
            const standby = agentConfig(run, "standby");
            const primary = agentConfig(run, "primary");
            assert.deepEqual(standby.listen, { addresses: ["127.0.0.1", "10.119.98.2"], port: 8300 });
            assert.deepEqual(primary.listen, { addresses: ["127.0.0.1"], port: 8300 });
            for (const agent of [standby, primary]) {
                for (const address of agent.listen.addresses) assert.ok(!["0.0.0.0", "::", ""].includes(address), `listens on ${address}`);
            }
        });

        it(`has each agent call the other at its link address, and the watchdog take only requests signed for its own (${variant})`, async () => {
            const run = await runProgram(options());
            const standby = agentConfig(run, "standby");
            const primary = agentConfig(run, "primary");
            assert.deepEqual(primary.peer, { address: "10.119.98.2", port: 8300 });
            assert.deepEqual(standby.calledAt, { address: "10.119.98.2", port: 8300 });
            assert.deepEqual(standby.peer, { address: "10.119.98.1", port: 8300 });
            assert.deepEqual(run.outputs.link, { interface: "wirebot", port: 51830, subnet: "10.119.98.0/30", primaryAddress: "10.119.98.1", standbyAddress: "10.119.98.2" });
        });

        it(`makes each host's key on that host and pins the other's public half; no private key anywhere in the program (${variant})`, async () => {
            const run = await runProgram(options());
            for (const host of ["primary", "standby"] as const) {
                const key = run.byName(`${host}-link-key`);
                assert.equal(input(run, `${host}-link-key`, "KEY_PATH"), "/etc/wireguard/wirebot.key");
                assert.match(key.inputs.stdin, /umask 077\n\s+if \[ ! -s "\$KEY_PATH" \]; then\n\s+wg genkey >"\$KEY_PATH\.new"/, "made on the host, private to root");
                assert.match(key.inputs.stdin, /chmod 0600 "\$KEY_PATH"/);
                assert.match(key.inputs.stdin, /wg pubkey <"\$KEY_PATH"\n\}/, "only the public half is printed");
                const other = host === "primary" ? "standby" : "primary";
                const conf = input(run, `${host}-link`, "CONF");
                assert.match(conf, new RegExp(`^PublicKey = ${LINK_PUBLIC_KEYS[other].replace(/[+/=]/g, "\\$&")}$`, "m"), "the other host's key, as its step printed it");
                assert.match(conf, /^@PRIVATE_KEY@$/m, "this host's key is put in on the host");
                // Its own public half too: a key made anew (rotated) changes the config, whose step then puts the new private key in.
                assert.match(conf, new RegExp(`^# This host's public key: ${LINK_PUBLIC_KEYS[host].replace(/[+/=]/g, "\\$&")}$`, "m"));
            }
            // Nothing the program hands the engine holds a private key: the configs carry the placeholder,
            // and the only WireGuard keys in any input are the public halves the steps printed.
            const everything = JSON.stringify(run.resources.map((r) => r.inputs)) + JSON.stringify(run.outputs);
            assert.doesNotMatch(everything, /PrivateKey ?= ?[A-Za-z0-9+/]/);
            const wgKeys = new Set(everything.match(/(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=(?![A-Za-z0-9+/=])/g) ?? []);
            assert.deepEqual([...wgKeys].sort(), Object.values(LINK_PUBLIC_KEYS).sort());
            assert.ok(!Object.keys(run.outputs).some((k) => /private/i.test(k)));
        });

        it(`brings the link up with the packaged wg-quick unit between the hosts' public addresses (${variant})`, async () => {
            const run = await runProgram(options());
            const standbyAddress = variant === "on Hetzner" ? "198.51.100.20" : "10.77.0.11";
            const primaryConf = input(run, "primary-link", "CONF");
            const standbyConf = input(run, "standby-link", "CONF");
            assert.match(primaryConf, /^# wirebot\.conf: managed by wirebot-failover/, "marked as this program's, so a foreign one is never taken over");
            assert.match(primaryConf, /^Address = 10\.119\.98\.1\/30$/m);
            assert.match(primaryConf, /^ListenPort = 51830$/m);
            assert.match(primaryConf, /^AllowedIPs = 10\.119\.98\.2\/32$/m);
            assert.match(primaryConf, new RegExp(`^Endpoint = ${standbyAddress.replace(/\./g, "\\.")}:51830$`, "m"));
            assert.match(standbyConf, /^Address = 10\.119\.98\.2\/30$/m);
            assert.match(standbyConf, /^AllowedIPs = 10\.119\.98\.1\/32$/m);
            assert.match(standbyConf, /^Endpoint = 203\.0\.113\.10:51830$/m);
            for (const host of ["primary", "standby"]) {
                assert.equal(input(run, `${host}-link`, "IFACE"), "wirebot");
                assert.match(stdinOf(run, `${host}-link`), /UNIT="wg-quick@\$IFACE\.service"/);
                assert.match(stdinOf(run, `${host}-link`), /systemctl enable --quiet "\$UNIT"/);
            }
            // The primary checks for a handshake once both ends are up, before the agents rely on it.
            const check = run.byName("primary-link-check");
            assert.equal(input(run, "primary-link-check", "PEER_PUBLIC_KEY"), LINK_PUBLIC_KEYS.standby);
            for (const end of ["primary-link", "standby-link"]) assert.ok(check.dependencies.includes(`command:remote:Command::${end}`), end);
        });

        it(`starts the agents' units with the link and only once it works (${variant})`, async () => {
            const run = await runProgram(options());
            assert.match(fileContent(run, "primary-file-etc-systemd-system-wirebot-replicator.service"), /^Wants=network-online\.target wg-quick@wirebot\.service$/m);
            assert.match(fileContent(run, "standby-file-etc-systemd-system-wirebot-watchdog.service"), /^Wants=network-online\.target wg-quick@wirebot\.service$/m);
            for (const step of ["standby-watchdog", "primary-feeders"]) {
                assert.ok(run.byName(step).dependencies.includes("command:remote:Command::primary-link-check"), `${step} runs after the handshake`);
            }
        });

        it(`closes the agents' port to all but loopback and the link, and the link's port to all but the other host, on both hosts (${variant})`, async () => {
            const run = await runProgram(options());
            const standbySources = variant === "on Hetzner" ? "ip saddr { 198.51.100.20/32 } accept\n\t\tudp dport 51830 ip6 saddr { 2001:db8:20::/64 }" : "ip saddr { 10.77.0.11/32 }";
            for (const [host, sources] of [["primary", standbySources], ["standby", "ip saddr { 203.0.113.10/32 }"]] as const) {
                const rules = fileContent(run, `${host}-file-etc-wirebot-link-firewall.nft`);
                assert.match(rules, /^table inet wirebot_link\ndelete table inet wirebot_link\ntable inet wirebot_link \{$/m, "loading it again replaces it");
                const chain = /chain input \{\n([\s\S]*?)\n\t\}/.exec(rules)![1].split("\n").map((l) => l.trim());
                assert.deepEqual(chain.slice(0, 7), [
                    "type filter hook input priority filter; policy accept;",
                    'iifname "lo" tcp dport 8300 accept',
                    'iifname "wirebot" tcp dport 8300 accept',
                    "tcp dport 8300 counter drop",
                    'iifname "wirebot" ct state established,related accept',
                    'iifname "wirebot" icmp type echo-request accept',
                    'iifname "wirebot" counter drop',
                ]);
                assert.ok(rules.includes(`\t\tudp dport 51830 ${sources} accept\n\t\tudp dport 51830 counter drop\n`), `${host}:\n${rules}`);
                assert.match(
                    rules,
                    /chain output \{\n\t\ttype filter hook output priority filter; policy accept;\n\t\tip daddr 10\.119\.98\.0\/30 oifname != \{ "lo", "wirebot" \} counter reject with icmpx type admin-prohibited\n\t\tip daddr 10\.119\.98\.0\/30 meta skuid != 0 counter reject with icmpx type admin-prohibited\n\t\}/,
                    "the agents' calls never leave unencrypted, by another interface, while the link is down; and only root's processes use the link",
                );
                assert.doesNotMatch(rules, /dport (22|8100|18789)\b/, "nothing else the host serves is touched");
                assert.equal(fileContent(run, `${host}-file-etc-systemd-system-wirebot-link-firewall.service`), fs.readFileSync(path.join(__dirname, "../../host/systemd/wirebot-link-firewall.service"), "utf8"));
                assert.match(stdinOf(run, `${host}-link-firewall`), /^UNITS='wirebot-link-firewall\.service'$/m);
                assert.match(fileContent(run, `${host}-file-etc-systemd-system-wirebot-link-firewall.service`), reloadedWithNftables("/etc/wirebot/link-firewall.nft"));
                assert.ok(run.byName(`${host}-link`).dependencies.includes(`command:remote:Command::${host}-link-firewall`), "the port is closed to others before the link listens");
            }
        });
    }

    it("installs the link's packages on a Hetzner standby it made, and only names them on the operator's hosts", async () => {
        const hetzner = await runProgram(standbyOptions());
        const [server] = hetzner.ofType("hcloud:index/server:Server");
        const cloudInit = JSON.parse(server.inputs.userData.replace(/^#cloud-config\n/, "")) as { packages: string[] };
        assert.ok(cloudInit.packages.includes("wireguard-tools") && cloudInit.packages.includes("nftables"), cloudInit.packages.join(", "));
        assert.equal(input(hetzner, "standby-link-key", "PACKAGES_POLICY"), "install");
        assert.equal(input(hetzner, "primary-link-key", "PACKAGES_POLICY"), "require");
        const existing = await runProgram(existingStandbyOptions());
        assert.equal(input(existing, "standby-link-key", "PACKAGES_POLICY"), "require");
        assert.equal(input(existing, "standby-link-key", "HOST_LABEL"), "standby (10.77.0.11)");
    });

    it("takes the operator's interface name, port and subnet", async () => {
        const run = await runProgram(existingStandbyOptions({ link: { interface: "wbx", port: 51999, subnet: "192.168.219.8/29" } }));
        assert.deepEqual(agentConfig(run, "standby").listen.addresses, ["127.0.0.1", "192.168.219.10"]);
        assert.deepEqual(agentConfig(run, "primary").peer, { address: "192.168.219.10", port: 8300 });
        assert.match(input(run, "primary-link", "CONF"), /^Address = 192\.168\.219\.9\/29$/m);
        assert.match(input(run, "primary-link", "CONF"), /^Endpoint = 10\.77\.0\.11:51999$/m);
        assert.equal(input(run, "standby-link-key", "KEY_PATH"), "/etc/wireguard/wbx.key");
        assert.match(fileContent(run, "standby-file-etc-wirebot-link-firewall.nft"), /iifname "wbx" tcp dport 8300 accept/);
        assert.match(fileContent(run, "standby-file-etc-systemd-system-wirebot-watchdog.service"), /^Wants=network-online\.target wg-quick@wbx\.service$/m);
    });

    it("takes the primary's addresses from the config when its host is a DNS name", async () => {
        const options = existingStandbyOptions({ link: { primaryCidrs: ["203.0.113.10/32", "2001:db8:10::/64"] } });
        options.stackOutputs!["organization/wirebot-failover/primary"] = { ...PRIMARY_OUTPUTS, primaryHost: { ...PRIMARY_OUTPUTS.primaryHost, host: "hub.example.org" } };
        const run = await runProgram(options);
        assert.match(fileContent(run, "standby-file-etc-wirebot-link-firewall.nft"), /udp dport 51830 ip saddr \{ 203\.0\.113\.10\/32 \} accept\n\t\tudp dport 51830 ip6 saddr \{ 2001:db8:10::\/64 \} accept/);
        assert.match(input(run, "standby-link", "CONF"), /^Endpoint = hub\.example\.org:51830$/m, "wg-quick resolves the name");
    });
});

describe("the link's addresses", () => {
    it("derives .1 for the primary and .2 for the standby", () => {
        assert.deepEqual(linkAddresses(DEFAULT_LINK.subnet), { primary: "10.119.98.1", standby: "10.119.98.2", prefix: 30 });
        assert.deepEqual(linkAddresses("172.20.0.0/16"), { primary: "172.20.0.1", standby: "172.20.0.2", prefix: 16 });
    });

    it("takes private IPv4 subnets of a /30 or wider, given by their network address", () => {
        for (const good of ["10.119.98.0/30", "10.0.0.0/8", "172.16.4.0/24", "192.168.219.0/30"]) assert.equal(linkSubnetProblem(good), undefined, good);
        for (const bad of ["10.119.98.0/31", "10.119.98.0/32", "10.119.98.2/30", "8.8.8.0/30", "172.32.0.0/30", "fd00::/64", "10.119.98.0", "10.119.98.0/33"]) {
            assert.ok(linkSubnetProblem(bad), bad);
        }
    });

    it("tells a subnet that holds a host's public address, or overlaps a block", () => {
        assert.ok(overlapsSubnet("10.77.0.0/24", "10.77.0.11"));
        assert.ok(overlapsSubnet("10.119.98.0/30", "10.0.0.0/8"));
        assert.ok(!overlapsSubnet("10.119.98.0/30", "10.119.98.4/30"));
        assert.ok(!overlapsSubnet("10.119.98.0/30", "2001:db8::/64"));
        assert.ok(!overlapsSubnet("10.119.98.0/30", "hub.example.org"));
    });

    it("writes an IPv6 endpoint in brackets, as WireGuard takes it", () => {
        assert.equal(endpointOf("2001:db8::7", 51830), "[2001:db8::7]:51830");
        assert.equal(endpointOf("203.0.113.10", 51830), "203.0.113.10:51830");
        assert.equal(endpointOf("hub.example.org", 51830), "hub.example.org:51830");
    });
});

describe("the link's firewall rules", () => {
    const nftAvailable = spawnSync("nft", ["--version"]).status === 0;

    it("load with nft, in a network namespace of their own, and again over themselves", { skip: nftAvailable ? false : "nft is not installed (apt-get install nftables)" }, async () => {
        const rules = await promiseOf(firewallRules("standby", { ...DEFAULT_LINK, subnet: DEFAULT_LINK.subnet }, 8300, ["203.0.113.10/32", "2001:db8:10::/64"]));
        const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "wirebot-nft-")), "link-firewall.nft");
        fs.writeFileSync(file, rules);
        const result = spawnSync("unshare", ["--net", "sh", "-c", `nft -f ${file} && nft -f ${file} && nft list table inet wirebot_link`], { encoding: "utf8" });
        assert.equal(result.status, 0, result.stderr);
        assert.match(result.stdout, /udp dport 51830 ip saddr 203\.0\.113\.10 accept/);
        assert.match(result.stdout, /udp dport 51830 ip6 saddr 2001:db8:10::\/64 accept/);
        assert.match(result.stdout, /tcp dport 8300 counter packets 0 bytes 0 drop/);
        assert.match(result.stdout, /ip daddr 10\.119\.98\.0\/30 oifname != \{ "lo", "wirebot" \} counter packets 0 bytes 0 reject/);
    });
});
