import { strict as assert } from "node:assert";
import { after, before, describe, it } from "node:test";
import { REPLICA_USER, REPLICATION_KEY_PATH } from "../../src/render/litestream-config";
import { LITESTREAM_UNIT } from "../../src/components/replication-feeders";
import { maxStartups } from "../../src/render/sshd-limits";
import { CONNECTOR, PATHS, SERVICES } from "../../lab/engine";
import { hosts, LabEnv, labEnv, LabHost, ssh, sshOk, waitFor } from "../../lab/lab";
import { converge } from "../../lab/runtime-harness";

// The host half of the program on real systemd hosts: the stacks brought up by
// the Pulumi engine on two nspawn-booted Debian hosts, then what that left on
// each host: who serves, across a reboot; replication into the standby's
// replica directory; the replication key's reach; restore; file modes.

function unitState(env: LabEnv, host: LabHost, unit: string): string {
    const active = ssh(env, host, `systemctl is-active ${unit}`).stdout.trim();
    const enabled = ssh(env, host, `systemctl is-enabled ${unit}`).stdout.trim();
    return `${active}/${enabled}`;
}

async function postEvent(env: LabEnv, host: LabHost, id: string, tenant?: string): Promise<boolean> {
    const response = await fetch(`http://${env.address[host]}:8100/v1/events`, {
        method: "POST",
        headers: { "content-type": "application/json", ...(tenant ? { "x-tenant": tenant } : {}) },
        body: JSON.stringify({ id, kind: "ship", payload: { n: id } }),
        signal: AbortSignal.timeout(2000),
    });
    return response.ok;
}

/** Restores a replica on the standby into a scratch file and returns the ids it holds. */
function restoredIds(env: LabEnv, replica: string): string[] | undefined {
    const r = ssh(
        env,
        "standby",
        `t=$(mktemp -u /tmp/restore.XXXXXX.db); litestream restore -o "$t" "file://${replica}" >/dev/null 2>&1 && sqlite3 "$t" 'select id from events' ; rm -f "$t" "$t"-*`,
    );
    return r.status === 0 ? r.stdout.trim().split("\n").filter(Boolean) : undefined;
}

describe("host steps on real systemd hosts", { timeout: 20 * 60_000 }, () => {
    let env: LabEnv;

    before(async () => {
        hosts("up");
        env = labEnv();
        await converge(env, 10, false);
    });
    after(() => {
        if (!process.env.WIREBOT_LAB_KEEP) hosts("down");
    });

    it("serve on the active side only, and stay off after a reboot until told", async () => {
        for (const unit of [...SERVICES.map((s) => s.unit), CONNECTOR]) {
            assert.equal(unitState(env, "primary", unit).split("/")[1], "enabled", `${unit} on the primary`);
            assert.equal(unitState(env, "standby", unit), "inactive/disabled", `${unit} on the standby`);
        }
        const health = await waitFor("the scoreboard stand-in on the primary", () => {
            const r = ssh(env, "primary", "curl -sf http://127.0.0.1:8100/health");
            return r.status === 0 ? (JSON.parse(r.stdout) as { host: string }) : undefined;
        }, 10_000, 200);
        assert.equal(health.host, "wb-primary");

        hosts("poweroff", "standby");
        hosts("poweron", "standby");
        assert.equal(unitState(env, "standby", CONNECTOR), "inactive/disabled", "a host that is not the active side does not connect on boot");
        assert.equal(unitState(env, "standby", "wirebot-scoreboard.service"), "inactive/disabled");
    });

    it("replicate the primary's databases into the standby's replica directory, tenants included, within seconds", async () => {
        await waitFor("Litestream on the primary", () => (unitState(env, "primary", LITESTREAM_UNIT) === "active/enabled" ? true : undefined), 20_000, 500);
        assert.equal(unitState(env, "primary", LITESTREAM_UNIT), "active/enabled");
        assert.match(sshOk(env, "standby", `cat ~${REPLICA_USER}/.ssh/authorized_keys`), /^restrict ssh-ed25519 /);

        await waitFor("the scoreboard stand-in on the primary", () => (ssh(env, "primary", "curl -sf http://127.0.0.1:8100/health").status === 0 ? true : undefined), 10_000, 200);
        const replica = `${PATHS.replicaDir}/scoreboard/events.db`;
        const latencies: number[] = [];
        for (let i = 0; i < 5; i++) {
            const id = `lab-event-${i}-${Date.now()}`;
            assert.ok(await postEvent(env, "primary", id));
            const written = Date.now();
            await waitFor(`event ${id} to be restorable on the standby`, () => (restoredIds(env, replica)?.includes(id) ? true : undefined), 15_000, 100);
            latencies.push(Date.now() - written);
        }
        latencies.sort((a, b) => a - b);
        console.log(`replication: write on the primary to restorable on the standby: median ${latencies[2]} ms, max ${latencies[4]} ms`);
        assert.ok(latencies[2] <= 2000, `median ${latencies[2]} ms is over the 2 s target`);

        assert.ok(await postEvent(env, "primary", "tenant-event-1", "acme"));
        const tenantReplica = `${PATHS.replicaDir}/scoreboard/tenants/acme/events.db`;
        await waitFor("the new tenant database in the replica, without a redeploy", () => (restoredIds(env, tenantReplica)?.includes("tenant-event-1") ? true : undefined), 20_000, 250);
    });

    it("admit the replication key for SFTP only", () => {
        const knownHosts = `printf '%s %s\\n' ${env.address.standby} '${env.hostKey.standby}' > /tmp/standby.known`;
        const shell = ssh(env, "primary", `${knownHosts}; ssh -i ${REPLICATION_KEY_PATH} -o BatchMode=yes -o UserKnownHostsFile=/tmp/standby.known ${REPLICA_USER}@${env.address.standby} id`);
        assert.doesNotMatch(shell.stdout, /uid=/, "no shell for the replication key");
        const owner = sshOk(env, "standby", `stat -c '%U %a' ${PATHS.replicaDir}`).trim();
        assert.equal(owner, `${REPLICA_USER} 700`);
    });

    it("restore every database from the replicas into the live paths, moving the old file aside", () => {
        sshOk(env, "standby", "mkdir -p /data/wirebot/scoreboard && sqlite3 /data/wirebot/scoreboard/events.db 'create table stale(x)'");
        const primaryIds = sshOk(env, "primary", "sqlite3 /data/wirebot/scoreboard/events.db 'select id from events order by id'").trim();
        const out = sshOk(env, "standby", "/usr/local/sbin/wirebot-restore");
        assert.match(out, /restored \/data\/wirebot\/scoreboard\/events.db from \/var\/lib\/wirebot\/replica\/scoreboard\/events.db/);
        assert.match(out, /restored \/data\/wirebot\/scoreboard\/tenants\/acme\/events.db/);
        const restored = sshOk(env, "standby", "sqlite3 /data/wirebot/scoreboard/events.db 'select id from events order by id'").trim();
        assert.equal(restored, primaryIds, "every event the primary acknowledged");
        assert.match(sshOk(env, "standby", "ls /data/wirebot/scoreboard"), /events\.db\.pre-restore-/);
        assert.equal(sshOk(env, "standby", "sqlite3 /data/wirebot/scoreboard/tenants/acme/events.db 'select id from events'").trim(), "tenant-event-1");
    });

    it("leave no secret readable by others", () => {
        const modes = sshOk(env, "primary", `stat -c '%a %U' ${REPLICATION_KEY_PATH}`).trim();
        assert.equal(modes, "600 root");
        // Each host's WireGuard key, made on it, and the config it is written into.
        for (const host of ["primary", "standby"] as const) {
            assert.equal(sshOk(env, host, "stat -c '%a %U' /etc/wireguard /etc/wireguard/wirebot.key /etc/wireguard/wirebot.conf").trim(), "700 root\n600 root\n600 root", host);
        }
    });

    // Past about ten databases, Debian's MaxStartups made Litestream exit at every start.
    it("start Litestream with 30 tenant databases: the standby's sshd admits every connection at once", async () => {
        assert.equal(sshOk(env, "standby", "sshd -T | awk '$1 == \"maxstartups\" { print $2 }'").trim(), maxStartups(PATHS.databases.length, 200));
        const tenants = Array.from({ length: 30 }, (_, i) => `many-${String(i).padStart(2, "0")}`);
        const replicas = `${PATHS.replicaDir}/scoreboard/tenants`;
        try {
            for (const tenant of tenants) assert.ok(await postEvent(env, "primary", `${tenant}-first`, tenant), tenant);
            const restarts = () => Number(sshOk(env, "primary", `systemctl show -p NRestarts --value ${LITESTREAM_UNIT}`).trim());
            const before = restarts();
            const since = sshOk(env, "primary", "date '+%Y-%m-%d %H:%M:%S'").trim();
            sshOk(env, "primary", `systemctl restart ${LITESTREAM_UNIT}`);
            const count = `n=0; for d in ${replicas}/many-*/events.db; do for f in "$d"/ltx/*/*.ltx; do if [ -f "$f" ]; then n=$((n + 1)); break; fi; done; done; echo $n`;
            await waitFor("every tenant database in the replica", () => (sshOk(env, "standby", count).trim() === "30" ? true : undefined), 60_000, 1000);
            await new Promise((r) => setTimeout(r, 5000));
            assert.equal(unitState(env, "primary", LITESTREAM_UNIT), "active/enabled");
            assert.equal(restarts() - before, 0, "Litestream never exited");
            assert.doesNotMatch(sshOk(env, "primary", `journalctl -u ${LITESTREAM_UNIT} --since '${since}' --no-pager -o cat`), /cannot open store/);
        } finally {
            sshOk(env, "primary", `rm -rf ${PATHS.tenantsDir}/many-* && systemctl restart ${LITESTREAM_UNIT}`);
            sshOk(env, "standby", `rm -rf ${replicas}/many-*`);
        }
    });
});
