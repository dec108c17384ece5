import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import { after, before, describe, it } from "node:test";
import { CONNECTOR, createStacks, EngineRun, labSettings, pulumi, pulumiOk, SERVICE_UNITS, SERVICES, setConfig, STACKS, up } from "../../lab/engine";
import { hosts, LabEnv, labEnv, LabHost, ssh, sshOk, waitFor } from "../../lab/lab";

// The program itself, run by the Pulumi engine (CLI, nodejs language host,
// command and random providers) against the two lab hosts: a cold converge of
// the primary, standby and tenant stacks from the stack config alone, no
// changes on a second run, no secret in plain text (the WireGuard keys made on
// the hosts included), and a destroy that leaves the hosts as they were (the
// agents' link, its keys and its firewall gone).

/** What the program may touch on a host, recorded so a destroy can be compared with the host before the first up. */
const MANIFEST = [
    "ls -1 /etc/systemd/system | sort",
    "systemctl list-unit-files --state=enabled --no-legend --plain | awk '{print $1}' | sort",
    "find /etc/wirebot /etc/cloudflared /usr/local/bin /usr/local/sbin /usr/local/lib/wirebot-failover -xdev 2>/dev/null | sort",
    "cut -d: -f1 /etc/passwd | sort",
    "ls -1 /etc/ssh/sshd_config.d | sort",
    "sha256sum /root/.ssh/authorized_keys",
    "systemctl list-timers --all --no-legend --plain | awk '{print $(NF-1)}' | sort",
    // The agents' WireGuard link: its config and key, its interface, its nftables table, its unit.
    "find /etc/wireguard -xdev 2>/dev/null | sort",
    "ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | sort",
    "nft list tables 2>/dev/null | sort",
    "systemctl is-enabled wg-quick@wirebot.service wirebot-link-firewall.service 2>&1 | sort",
].join("; echo --; ");

function manifest(env: LabEnv, host: LabHost): string {
    return sshOk(env, host, MANIFEST);
}

function plainSecrets(env: LabEnv, config: string): string[] {
    const read = (host: LabHost, file: string) => sshOk(env, host, `cat ${file}`).trim();
    const credentials = JSON.parse(config) as { TunnelSecret: string };
    return [
        credentials.TunnelSecret,
        read("primary", "/etc/wirebot/heartbeat.token"),
        read("primary", "/etc/wirebot/replication_ed25519").split("\n").slice(1, -1).join(""),
        read("primary", "/etc/wirebot/filesync_ed25519").split("\n").slice(1, -1).join(""),
        fs.readFileSync(env.sshKey, "utf8").trim().split("\n").slice(1, -1).join(""),
        // Each host's WireGuard private key, made on the host.
        read("primary", "/etc/wireguard/wirebot.key"),
        read("standby", "/etc/wireguard/wirebot.key"),
    ];
}

describe("the Pulumi engine converges the lab hosts", { timeout: 20 * 60_000 }, () => {
    let env: LabEnv;
    const before_: Partial<Record<LabHost, string>> = {};
    const upRuns: EngineRun[] = [];

    before(() => {
        hosts("up");
        env = labEnv();
        for (const host of ["primary", "standby"] as const) before_[host] = manifest(env, host);
    });
    after(() => {
        if (!process.env.WIREBOT_LAB_KEEP) hosts("down");
    });

    it("brings fresh hosts up from stack config alone: primary, standby, then a tenant; the heartbeat token generated", async () => {
        await createStacks(env, labSettings(10, false));
        const times: string[] = [];
        for (const stack of STACKS) {
            const r = await up(env, stack);
            assert.equal(r.status, 0, `pulumi up -s ${stack}:\n${r.stdout}${r.stderr}`);
            upRuns.push(r);
            times.push(`${stack} ${(r.ms / 1000).toFixed(1)} s`);
        }
        console.log(`engine: cold converge ${times.join(", ")}`);
        for (const unit of SERVICE_UNITS) assert.equal(ssh(env, "primary", `systemctl is-active ${unit}`).stdout.trim(), "active", unit);
        assert.equal(ssh(env, "standby", `systemctl is-enabled ${CONNECTOR}`).stdout.trim(), "disabled", "the standby's connector stays off");
        // Litestream may restart once while the standby's SFTP access settles (Restart=always).
        for (const unit of ["wirebot-litestream.service", "wirebot-replicator.service"]) {
            await waitFor(`${unit} active on the primary`, () => (ssh(env, "primary", `systemctl is-active ${unit}`).stdout.trim() === "active" ? true : undefined), 20_000, 500);
        }
        assert.equal(ssh(env, "standby", "systemctl is-active wirebot-watchdog.service").stdout.trim(), "active");
        for (const host of ["primary", "standby"] as const) {
            assert.equal(sshOk(env, host, "stat -c '%a %U' /etc/wirebot/heartbeat.token").trim(), "600 root", `${host}: the token file`);
        }
        assert.equal(sshOk(env, "primary", "cat /etc/wirebot/heartbeat.token"), sshOk(env, "standby", "cat /etc/wirebot/heartbeat.token"), "one generated token on both hosts");
        assert.match(sshOk(env, "standby", "ls /etc/wirebot/tenants"), /lab\.env/);
        // The agents' link: up on both hosts, the watchdog on loopback and its link address only.
        for (const host of ["primary", "standby"] as const) {
            assert.equal(ssh(env, host, "systemctl is-active wg-quick@wirebot.service wirebot-link-firewall.service").stdout.trim(), "active\nactive", host);
        }
        assert.match(sshOk(env, "standby", "cat /etc/wirebot/agent.json"), /"addresses": \[\n\s+"127\.0\.0\.1",\n\s+"10\.119\.98\.2"\n\s+\]/);
    });

    it("changes nothing on a second run: preview --expect-no-changes for every stack, also after a refresh", async () => {
        const times: string[] = [];
        for (const stack of STACKS) {
            const preview = await pulumi(env, ["preview", "-s", stack, "--expect-no-changes"]);
            assert.equal(preview.status, 0, `preview -s ${stack}:\n${preview.stdout}${preview.stderr}`);
            const again = await up(env, stack);
            assert.equal(again.status, 0, `second up -s ${stack}:\n${again.stdout}${again.stderr}`);
            assert.match(again.stdout, /Resources:\n\s+\d+ unchanged\n\s*\n\s*Duration/, `second up -s ${stack} changed something:\n${again.stdout}`);
            times.push(`${stack} ${(again.ms / 1000).toFixed(1)} s`);
            upRuns.push(again);
        }
        console.log(`engine: no-op up ${times.join(", ")}`);
        for (const stack of STACKS) {
            await pulumiOk(env, ["refresh", "-s", stack, "--yes", "--skip-preview", "--suppress-progress"]);
            const preview = await pulumi(env, ["preview", "-s", stack, "--expect-no-changes"]);
            assert.equal(preview.status, 0, `preview -s ${stack} after refresh:\n${preview.stdout}${preview.stderr}`);
        }
    });

    it("keeps every secret out of the state and out of pulumi up's output", async () => {
        const credentials = (await pulumiOk(env, ["config", "get", "-s", "primary", "wirebot:tunnelCredentials"])).stdout;
        const secrets = plainSecrets(env, credentials);
        for (const stack of STACKS) {
            const state = (await pulumiOk(env, ["stack", "export", "-s", stack])).stdout;
            for (const [i, secret] of secrets.entries()) assert.ok(secret.length >= 32 && !state.includes(secret), `secret ${i} is in plain text in the ${stack} stack's state`);
            // The steps that install a private (0600) file keep what they print secret in the state.
            const resources = (JSON.parse(state) as { deployment: { resources?: { urn: string; inputs?: { stdin?: unknown }; outputs?: Record<string, unknown> }[] } }).deployment.resources ?? [];
            const privateSteps = resources.filter((r) => /token|credentials|webhook|tenants-lab\.env/.test(r.urn) && r.outputs && "stdout" in r.outputs);
            if (stack !== "tenant-lab" || privateSteps.length > 0) assert.ok(privateSteps.length > 0, `${stack}: no private file step found`);
            for (const step of privateSteps) {
                const stdout = step.outputs!.stdout as Record<string, unknown>;
                assert.equal(typeof stdout, "object", `${step.urn}: stdout is plain text in the state`);
                assert.ok("ciphertext" in stdout, `${step.urn}: stdout is not a secret`);
            }
        }
        for (const run of upRuns) {
            for (const [i, secret] of secrets.entries()) assert.ok(!(run.stdout + run.stderr).includes(secret), `secret ${i} was printed by pulumi up`);
        }
    });

    it("fails within 60 s on a host that does not answer, naming it and the step; converges once it is back", async () => {
        await setConfig(env, "standby", "wirebot:agent.fileSyncDebounceSeconds", "6");
        hosts("poweroff", "standby");
        let r: EngineRun;
        try {
            r = await up(env, "standby");
        } finally {
            hosts("poweron", "standby");
        }
        console.log(`engine: up against a powered-off standby failed after ${(r.ms / 1000).toFixed(1)} s`);
        assert.notEqual(r.status, 0, "the up fails");
        assert.ok(r.ms < 60_000, `it took ${r.ms} ms`);
        assert.match(r.stdout, /command:remote:Command \(standby-[a-z-]+/, "names the step");
        assert.match(r.stdout, /10\.77\.0\.11/, "names the host");
        const again = await up(env, "standby");
        assert.equal(again.status, 0, `the next up converges:\n${again.stdout}`);
        assert.match(sshOk(env, "standby", "cat /etc/wirebot/agent.json"), /"debounceSeconds": 6/);
        assert.equal((await pulumi(env, ["preview", "-s", "standby", "--expect-no-changes"])).status, 0);
    });

    it("refuses a host whose key is not the pinned one, running nothing on it; converges once the pin matches", async () => {
        const pinned = env.hostKey.standby;
        const before = sshOk(env, "standby", "cat /etc/wirebot/agent.json");
        await setConfig(env, "standby", "wirebot:agent.fileSyncDebounceSeconds", "7");
        await setConfig(env, "standby", "wirebot:standby.existing.hostKey", env.hostKey.primary);
        const r = await up(env, "standby");
        assert.notEqual(r.status, 0, "the up fails");
        const fingerprint = (key: string) => sshOk(env, "standby", `echo '${key}' | ssh-keygen -lf - | cut -d' ' -f2`).trim();
        assert.match(r.stdout, /wirebot:standby\.existing\.hostKey \(stack standby\): the standby host 10\.77\.0\.11:22 presents another SSH host key/);
        assert.ok(r.stdout.includes(`pinned ${fingerprint(env.hostKey.primary)}, seen ${fingerprint(pinned)}`), `names both fingerprints:\n${r.stdout}`);
        assert.equal(sshOk(env, "standby", "cat /etc/wirebot/agent.json"), before, "nothing ran on the standby");
        await setConfig(env, "standby", "wirebot:standby.existing.hostKey", pinned);
        const again = await up(env, "standby");
        assert.equal(again.status, 0, `the next up converges:\n${again.stdout}`);
        assert.match(sshOk(env, "standby", "cat /etc/wirebot/agent.json"), /"debounceSeconds": 7/);
    });

    it("fails a step that cannot work on the host, naming it and the host's stderr; converges with no leftovers once the config is fixed", async () => {
        const good = SERVICES.find((svc) => svc.name === "gateway")!.execStart;
        await setConfig(env, "primary", "wirebot:services.gateway.execStart", "/usr/bin/no-such-gateway");
        const r = await up(env, "primary");
        assert.notEqual(r.status, 0, "the up fails");
        assert.match(r.stdout, /command:remote:Command \(primary-serving\)/, "names the step");
        assert.match(r.stdout, /openclaw-gateway\.service does not run/, "passes the host's stderr through");
        await setConfig(env, "primary", "wirebot:services.gateway.execStart", good);
        const again = await up(env, "primary");
        assert.equal(again.status, 0, `the next up converges:\n${again.stdout}`);
        assert.doesNotMatch(sshOk(env, "primary", "cat /etc/systemd/system/openclaw-gateway.service"), /no-such-gateway/, "no leftover of the bad config");
        await waitFor("the gateway running again", () => (ssh(env, "primary", "systemctl is-active openclaw-gateway.service").stdout.trim() === "active" ? true : undefined), 15_000, 500);
        assert.equal((await pulumi(env, ["preview", "-s", "primary", "--expect-no-changes"])).status, 0);
    });

    it("destroys the tenant, standby and primary stacks, leaving each host as before the first up, data kept", async () => {
        sshOk(env, "primary", "echo kept > /data/wirebot/scoreboard/kept.txt");
        for (const stack of [...STACKS].reverse()) {
            const r = await pulumi(env, ["destroy", "-s", stack, "--yes", "--skip-preview", "--suppress-progress"]);
            assert.equal(r.status, 0, `destroy -s ${stack}:\n${r.stdout}${r.stderr}`);
        }
        for (const host of ["primary", "standby"] as const) {
            const now = manifest(env, host).split("\n");
            const was = before_[host]!.split("\n");
            const left = now.filter((l) => !was.includes(l));
            const gone = was.filter((l) => !now.includes(l));
            assert.deepEqual({ left, gone }, { left: [], gone: [] }, `${host} differs from before the first up`);
        }
        assert.equal(ssh(env, "primary", "cat /data/wirebot/scoreboard/kept.txt").stdout.trim(), "kept", "the data stays");
    });
});
