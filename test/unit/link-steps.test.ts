import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { stepStdin } from "../../src/host/remote-step";
import { wgQuickConf } from "../../src/components/agent-link";
import { DEFAULT_LINK } from "../../src/config/schema";

// The link's host steps run for real, as the host runs them: in a private
// mount namespace whose /var/lib and /etc/wireguard are fresh tmpfs and a
// network namespace of their own, so nothing of this machine is touched;
// systemctl is the stand-in of test/unit/fakes (unit states in files).

const HAVE_WG = spawnSync("wg", ["--version"]).status === 0 && fs.existsSync("/etc/wireguard");
const skip = HAVE_WG ? false : "wireguard-tools is not installed (apt-get install wireguard-tools wireguard-go nftables)";

/** A step's create or delete (`path`: the PATH it runs with); one that may fail prints its status instead of ending the run; `shell` runs a command between steps. */
type Action = { stdin: string; action: "create" | "delete"; mayFail?: boolean; path?: string } | { shell: string };

function run(actions: Action[], env: NodeJS.ProcessEnv = process.env): { status: number; output: string } {
    const lines = actions.map((a, i) => {
        if ("shell" in a) return a.shell;
        const file = path.join(os.tmpdir(), `wirebot-link-step-${process.pid}-${i}.sh`);
        fs.writeFileSync(file, a.stdin);
        return `${a.path ? `PATH=${a.path} ` : ""}/bin/sh -s -- ${a.action} < ${file}${a.mayFail ? ' || echo "step failed: $?"' : ""}`;
    });
    const body = ["set -e", "mount -t tmpfs tmpfs /var/lib", "mount -t tmpfs -o mode=0700 tmpfs /etc/wireguard", "[ ! -d /run/wireguard ] || mount -t tmpfs tmpfs /run/wireguard", ...lines].join("\n");
    const result = spawnSync("unshare", ["--mount", "--net", "--propagation", "private", "sh", "-c", body], { encoding: "utf8", env });
    return { status: result.status ?? -1, output: result.stdout + result.stderr };
}

function keyStep(keyPath: string, extra: Record<string, string> = {}): string {
    return stepStdin("standby-link-key", "link-key.sh", [], { KEY_PATH: keyPath, HOST_LABEL: "standby (192.0.2.9)", PACKAGES_POLICY: "require", ...extra });
}

const PEER_KEY = "cHJpbWFyeS1saW5rLWtleS1mb3ItdW5pdC10ZXN0czA=";
const OWN_KEY = "c3RhbmRieS1saW5rLWtleS1mb3ItdW5pdC10ZXN0czA=";

function linkStep(iface = "wirebot", peerEndpoint = "203.0.113.10:51830"): string {
    const link = { ...DEFAULT_LINK, interface: iface };
    const conf = wgQuickConf({ role: "standby", link, address: "10.119.98.2", prefix: 30, publicKey: OWN_KEY, peerPublicKey: PEER_KEY, peerAddress: "10.119.98.1", peerEndpoint });
    return stepStdin("standby-link", "link.sh", [], { IFACE: iface, LISTEN_PORT: "51830", SUBNET: DEFAULT_LINK.subnet, CONF: conf, HOST_LABEL: "standby (192.0.2.9)" });
}

function fakeSystemd() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wirebot-link-systemd-"));
    const env = { ...process.env, PATH: `${path.join(__dirname, "fakes")}:${process.env.PATH}`, FAKE_SYSTEMD_DIR: dir };
    const calls = () => (fs.existsSync(path.join(dir, "calls")) ? fs.readFileSync(path.join(dir, "calls"), "utf8").split("\n").filter(Boolean) : []);
    return { env, calls, changes: () => calls().filter((c) => !c.startsWith("is-")) };
}

describe("the link's key step, run for real", { skip }, () => {
    it("makes the key on the host, root's 0600, prints only its public half, the same one every time, and removes it on delete", () => {
        const key = "/etc/wireguard/keys/wirebot.key";
        const out = run([
            { stdin: keyStep(key), action: "create" },
            { shell: `echo "mode $(stat -c '%a %U' ${key}) dir $(stat -c '%a' /etc/wireguard/keys)"; echo "derived $(wg pubkey < ${key})"` },
            { stdin: keyStep(key), action: "create" },
            { shell: `echo "private $(cat ${key})"` },
            // The same revision twice, as the engine may: the first delete leaves the other instance's key.
            { stdin: keyStep(key), action: "delete" },
            { shell: `test -s ${key} && echo "key kept"` },
            { stdin: keyStep(key), action: "delete" },
            { shell: `ls /etc/wireguard; test ! -e ${key} && echo "key gone"` },
        ]);
        assert.equal(out.status, 0, out.output);
        const printed = out.output.split("\n").filter((l) => /^[A-Za-z0-9+/]{43}=$/.test(l));
        const derived = /^derived (\S+)$/m.exec(out.output)![1];
        assert.deepEqual(printed, [derived, derived], "the public half, once per create, the same key");
        assert.match(out.output, /^mode 600 root dir 700$/m);
        const privateKey = /^private (\S+)$/m.exec(out.output)![1];
        assert.equal(out.output.split(privateKey).length, 2, "the private key is printed by no step");
        assert.match(out.output, /^key kept$/m);
        assert.match(out.output, /^key gone$/m);
        assert.doesNotMatch(out.output, /^keys$/m, "the directory the step made is gone with it");
    });

    it("fails naming the host and what to install when wireguard-tools is missing, making nothing", () => {
        const bin = fs.mkdtempSync(path.join(os.tmpdir(), "wirebot-nowg-"));
        for (const tool of ["tr", "cat"]) fs.symlinkSync(spawnSync("sh", ["-c", `command -v ${tool}`], { encoding: "utf8" }).stdout.trim(), path.join(bin, tool));
        const out = run([{ stdin: keyStep("/etc/wireguard/wirebot.key"), action: "create", mayFail: true, path: bin }, { shell: "ls -A /etc/wireguard | wc -l" }]);
        assert.match(out.output, /^step failed: 1$/m);
        assert.match(out.output, /standby \(192\.0\.2\.9\) lacks what the WireGuard link between the hosts needs; install it with: apt-get install wireguard-tools( wireguard-go)?; then run pulumi up -s standby again/);
        assert.match(out.output, /^0$/m, "no key was made");
    });
});

describe("the link step, run for real", { skip }, () => {
    const withKey = { shell: "umask 077; wg genkey > /etc/wireguard/wirebot.key" };

    it("writes the config with the host's key put in on the host, root's 0600, and brings up wg-quick@<interface> enabled", () => {
        const systemd = fakeSystemd();
        const out = run(
            [
                withKey,
                { stdin: linkStep(), action: "create" },
                { shell: "stat -c 'conf %a %U' /etc/wireguard/wirebot.conf; grep -c \"^PrivateKey = $(cat /etc/wireguard/wirebot.key)$\" /etc/wireguard/wirebot.conf; grep -v PrivateKey /etc/wireguard/wirebot.conf" },
            ],
            systemd.env,
        );
        assert.equal(out.status, 0, out.output);
        assert.match(out.output, /^conf 600 root\n1\n/m, "the private key, once, in a root-only file");
        assert.match(out.output, /^# wirebot\.conf: managed by wirebot-failover/m);
        assert.match(out.output, new RegExp(`^\\[Interface\\]\n# This host's public key: ${OWN_KEY}\nAddress = 10\\.119\\.98\\.2/30\nListenPort = 51830\n\n\\[Peer\\]`, "m"));
        assert.match(out.output, new RegExp(`^PublicKey = ${PEER_KEY.replace(/[+/=]/g, "\\$&")}\nAllowedIPs = 10\\.119\\.98\\.1/32\nEndpoint = 203\\.0\\.113\\.10:51830\nPersistentKeepalive = 25$`, "m"));
        assert.doesNotMatch(out.output, /@PRIVATE_KEY@/);
        assert.deepEqual(systemd.changes(), ["enable --quiet wg-quick@wirebot.service", "start wg-quick@wirebot.service"]);
    });

    it("restarts the link only when its config changed", () => {
        const systemd = fakeSystemd();
        const out = run([withKey, { stdin: linkStep(), action: "create" }, { stdin: linkStep(), action: "create" }, { stdin: linkStep("wirebot", "198.51.100.7:51830"), action: "create" }], systemd.env);
        assert.equal(out.status, 0, out.output);
        assert.deepEqual(systemd.changes().filter((c) => !c.startsWith("enable")), ["start wg-quick@wirebot.service", "start wg-quick@wirebot.service", "restart wg-quick@wirebot.service"]);
    });

    it("refuses a WireGuard config of someone else's under the same name, changing nothing", () => {
        const systemd = fakeSystemd();
        const out = run(
            [withKey, { shell: "printf '[Interface]\\nListenPort = 51820\\n' > /etc/wireguard/wirebot.conf" }, { stdin: linkStep(), action: "create", mayFail: true }, { shell: "cat /etc/wireguard/wirebot.conf" }],
            systemd.env,
        );
        assert.match(out.output, /^step failed: 1$/m);
        assert.match(out.output, /standby \(192\.0\.2\.9\): \/etc\/wireguard\/wirebot\.conf is not this program's \(a WireGuard interface of your own\?\): give the link another name with pulumi config set --path wirebot:link\.interface <name>; nothing was changed/);
        assert.match(out.output, /^\[Interface\]\nListenPort = 51820$/m, "the operator's config is untouched");
        assert.deepEqual(systemd.changes(), []);
    });

    it("takes the former interface down when the link is renamed, and removes everything on delete", () => {
        const systemd = fakeSystemd();
        const out = run(
            [
                withKey,
                { stdin: linkStep(), action: "create" },
                { shell: "cp /etc/wireguard/wirebot.key /etc/wireguard/wbx.key" },
                { stdin: linkStep("wbx"), action: "create" },
                { shell: "echo after rename: $(ls /etc/wireguard)" },
                { stdin: linkStep("wbx"), action: "delete" },
                { shell: "echo after delete: $(ls /etc/wireguard)" },
            ],
            systemd.env,
        );
        assert.equal(out.status, 0, out.output);
        assert.match(out.output, /^after rename: wbx\.conf wbx\.key wirebot\.key$/m);
        assert.match(out.output, /^after delete: wbx\.key wirebot\.key$/m, "the keys go with the key step");
        assert.deepEqual(systemd.changes(), [
            "enable --quiet wg-quick@wirebot.service",
            "start wg-quick@wirebot.service",
            "disable --now --quiet wg-quick@wirebot.service",
            "enable --quiet wg-quick@wbx.service",
            "start wg-quick@wbx.service",
            "disable --now --quiet wg-quick@wbx.service",
        ]);
    });
});
