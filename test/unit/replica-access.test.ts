import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { stepStdin } from "../../src/host/remote-step";
import { maxStartups } from "../../src/render/sshd-limits";

// The standby's replica access step run for real against the real sshd's
// config checks (sshd -t, sshd -T): in a mount namespace of its own, /etc/ssh
// is a scratch copy with a host key of its own, /etc/passwd and /etc/group
// know the replica user, and systemctl is the stand-in that records calls.

const SSHD = "/usr/sbin/sshd";
const FAKES = path.join(__dirname, "fakes");
const USER = "wirebot-replica";
const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGkYvgVsxJ4W8nDoz8ogq9q6sJYmmSMV9x4J4tcM3X7e replication";

interface Sandbox {
    dir: string;
    etcSsh: string;
    home: string;
    calls: string;
}

/** `operator`: MaxStartups lines of the operator's own, in sshd_config after its Include or in a drop-in read after ours. */
function sandbox(operator: { main?: string; dropin?: string } = {}): Sandbox {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wirebot-sshd-"));
    const etcSsh = path.join(dir, "etc-ssh");
    fs.mkdirSync(path.join(etcSsh, "sshd_config.d"), { recursive: true });
    // Debian's sshd_config reads its drop-ins first.
    fs.writeFileSync(
        path.join(etcSsh, "sshd_config"),
        `Include /etc/ssh/sshd_config.d/*.conf\nHostKey /etc/ssh/ssh_host_ed25519_key\nKbdInteractiveAuthentication no\nUsePAM yes\n${operator.main ?? ""}Subsystem sftp /usr/lib/openssh/sftp-server\n`,
    );
    if (operator.dropin) fs.writeFileSync(path.join(etcSsh, "sshd_config.d", "90-operator.conf"), operator.dropin);
    spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(etcSsh, "ssh_host_ed25519_key")]);
    const home = path.join(dir, "home");
    fs.mkdirSync(home);
    fs.writeFileSync(path.join(dir, "passwd"), `${fs.readFileSync("/etc/passwd", "utf8")}${USER}:x:1999:1999::${home}:/usr/sbin/nologin\n`);
    fs.writeFileSync(path.join(dir, "group"), `${fs.readFileSync("/etc/group", "utf8")}${USER}:x:1999:\n`);
    return { dir, etcSsh, home, calls: path.join(dir, "systemd", "calls") };
}

function step(tenants: number): string {
    return stepStdin("standby-replica-access", "replica-access.sh", [], { REPLICA_USER: USER, PUBLIC_KEY: KEY, MAX_STARTUPS: maxStartups(3, tenants) });
}

/** Runs the step's actions in the sandbox's namespace, then `check`; returns the status and everything printed. */
function run(box: Sandbox, actions: { stdin: string; action: "create" | "delete" }[], check = ""): { status: number; output: string } {
    const files = actions.map((a, i) => {
        const file = path.join(box.dir, `step-${i}.sh`);
        fs.writeFileSync(file, a.stdin);
        return `sh -s -- ${a.action} < ${file}`;
    });
    const body = [
        "set -e",
        "mount -t tmpfs tmpfs /var/lib",
        "mount -t tmpfs tmpfs /run && mkdir -m 0755 /run/sshd",
        `mount --bind ${box.etcSsh} /etc/ssh`,
        `mount --bind ${box.dir}/passwd /etc/passwd`,
        `mount --bind ${box.dir}/group /etc/group`,
        ...files,
        check,
    ].join("\n");
    const r = spawnSync("unshare", ["--mount", "--propagation", "private", "sh", "-c", body], {
        encoding: "utf8",
        env: { ...process.env, PATH: `${FAKES}:/usr/sbin:/usr/bin:/sbin:/bin`, FAKE_SYSTEMD_DIR: path.join(box.dir, "systemd") },
    });
    return { status: r.status ?? -1, output: r.stdout + r.stderr };
}

const effective = "sshd -T | grep '^maxstartups '";

describe("the standby's replica access, with the real sshd", { skip: fs.existsSync(SSHD) ? false : `no ${SSHD} here (apt-get install openssh-server)` }, () => {
    it("admits the replication key for SFTP only and one connection per database at once, checked by sshd, then reloads it", () => {
        const box = sandbox();
        const r = run(box, [{ stdin: step(200), action: "create" }], effective);
        assert.equal(r.status, 0, r.output);
        assert.match(r.output, /^maxstartups 219:30:438$/m);
        assert.match(r.output, /sshd admits 219:30:438 unauthenticated connections/);
        assert.equal(fs.readFileSync(path.join(box.home, ".ssh", "authorized_keys"), "utf8"), `restrict ${KEY}\n`);
        assert.match(fs.readFileSync(path.join(box.etcSsh, "sshd_config.d", "50-wirebot-replica.conf"), "utf8"), /^Match User wirebot-replica\n {4}ForceCommand internal-sftp$/m);
        assert.match(fs.readFileSync(path.join(box.etcSsh, "sshd_config.d", "40-wirebot-startups.conf"), "utf8"), /^MaxStartups 219:30:438$/m);
        assert.deepEqual(fs.readFileSync(box.calls, "utf8").trim().split("\n"), ["reload ssh"], "reloaded, never restarted");
    });

    it("puts sshd back to its own MaxStartups on delete", () => {
        const box = sandbox();
        const r = run(box, [{ stdin: step(50), action: "create" }, { stdin: step(50), action: "delete" }], effective);
        assert.equal(r.status, 0, r.output);
        assert.match(r.output, /^maxstartups 10:30:100$/m, "Debian's default again");
        assert.deepEqual(fs.readdirSync(path.join(box.etcSsh, "sshd_config.d")), []);
        assert.equal(fs.existsSync(path.join(box.home, ".ssh")), false);
        assert.deepEqual(fs.readFileSync(box.calls, "utf8").trim().split("\n"), ["reload ssh", "reload ssh"]);
    });

    // sshd takes the last MaxStartups it reads, unlike most keywords.
    it("refuses, changing nothing, when the operator's own MaxStartups, read after ours, admits fewer", () => {
        for (const [operator, where] of [
            [{ main: "MaxStartups 10:30:60\n" }, "/etc/ssh/sshd_config"],
            [{ dropin: "MaxStartups 10:30:60\n" }, "/etc/ssh/sshd_config.d/90-operator.conf"],
        ] as const) {
            const box = sandbox(operator);
            const r = run(box, [{ stdin: step(200), action: "create" }], effective);
            assert.notEqual(r.status, 0, r.output);
            assert.ok(
                r.output.includes(
                    `sshd admits 10 unauthenticated connections at once (MaxStartups 10:30:60, set in ${where}), fewer than the 219 Litestream opens as it starts`,
                ),
                r.output,
            );
            assert.match(r.output, /Raise it there to at least 219:30:438 or remove it; nothing was changed/);
            assert.deepEqual(fs.readdirSync(path.join(box.etcSsh, "sshd_config.d")), operator.dropin ? ["90-operator.conf"] : []);
            assert.equal(fs.existsSync(path.join(box.home, ".ssh")), false);
            assert.equal(fs.existsSync(box.calls), false, "sshd was not reloaded");
        }
    });

    it("takes an operator's MaxStartups that admits more as it is", () => {
        const box = sandbox({ dropin: "MaxStartups 500:30:1000\n" });
        const r = run(box, [{ stdin: step(200), action: "create" }], effective);
        assert.equal(r.status, 0, r.output);
        assert.match(r.output, /^maxstartups 500:30:1000$/m);
    });
});

describe("MaxStartups for the standby", () => {
    it("admits every database at once plus headroom, and never lowers Debian's ceiling of 100", () => {
        assert.equal(maxStartups(3, 200), "219:30:438");
        assert.equal(maxStartups(3, 0), "19:30:100");
        assert.equal(maxStartups(1, 2000), "2017:30:4034");
    });
});
