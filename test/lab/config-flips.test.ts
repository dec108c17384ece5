import { strict as assert } from "node:assert";
import { after, before, describe, it } from "node:test";
import { CONNECTOR, PATHS, SERVICE_UNITS } from "../../lab/engine";
import { replicaPathOf } from "../../src/render/litestream-config";
import { EVENTS_DB, eventIds as ids, plannedFlip as flipUnderLoad, replicationRuns, sleep, succeeded as ok, unitsActive } from "../../lab/flips";
import { hosts, LabEnv, LabHost, Result, ssh, sshOk, waitFor } from "../../lab/lab";
import { up } from "../../lab/engine";
import { flipServing, Load, LOAD_PER_SECOND, RuntimeLab, Sampler, setAgents, startRuntimeLab, stopRuntimeLab } from "../../lab/runtime-harness";

// The active side flipped in the stack config, converged the way `pulumi up`
// applies it: each host's serving step (set-serving.sh, whose first act is the
// agent's `flip`), the primary stack's before the standby stack's. Every path
// runs under the 50 events/s load, every acknowledged event id is looked up in
// the database that survives, and the sampler checks the connectors every
// 100 ms throughout. Heartbeats every 2 s; the watchdog acts on its own only in
// the automatic-failover test.

const TENANT_DB = "/data/wirebot/scoreboard/tenants/newco/events.db";
const HEARTBEAT_SECONDS = 2;
const ACTIVATING = "/var/lib/wirebot-failover/activating.json";
const ACTIVATING_STAND_IN = "wirebot-lab-activating";
const alerts: string[] = [];

function refused(r: Result, reason: RegExp, what: string): void {
    assert.notEqual(r.status, 0, `${what} was not refused: ${r.stdout}`);
    assert.match(r.stderr + r.stdout, reason, what);
    assert.match(r.stderr + r.stdout, /refused: the serving role is left as it was/);
}

/** The real OpenClaw gateway, under the product's unit, answering its health check on the host's loopback. */
async function gatewayAnswers(env: LabEnv, host: LabHost): Promise<void> {
    const health = await waitFor(
        `the gateway on the ${host} to answer /health`,
        () => {
            const r = ssh(env, host, "curl -fsS -m 2 http://127.0.0.1:18789/health");
            return r.status === 0 ? r.stdout : undefined;
        },
        90_000,
        1000,
    );
    assert.match(health, /"ok":true/);
    assert.equal(ssh(env, host, "systemctl is-active openclaw-gateway.service").stdout.trim(), "active");
    assert.match(sshOk(env, host, "systemctl show -p ExecStart --value openclaw-gateway.service"), /\/usr\/bin\/openclaw gateway --port 18789/);
}

describe("config flips converged on real hosts", { timeout: 20 * 60_000 }, () => {
    let env: LabEnv;
    let sampler: Sampler;
    let lab: RuntimeLab | undefined;

    before(async () => {
        lab = await startRuntimeLab(alerts, HEARTBEAT_SECONDS, false);
        ({ env, sampler } = lab);
    });

    after(() => stopRuntimeLab(lab));

    const plannedFlip = (to: LabHost) => flipUnderLoad(env, sampler, to);

    it("refuses a switchover run from the standby stack while the primary is alive, changing nothing", async () => {
        const before = unitsActive(env, "standby");
        refused(await flipServing(env, "standby", true), /the primary is alive \(last heartbeat \d+ s ago\).*pulumi up -s primary, then pulumi up -s standby/s, "standby first");
        assert.deepEqual(unitsActive(env, "standby"), before);
        assert.equal(sampler.serving(), "primary");
    });

    it("refuses to start the primary's units while an activation runs on the standby, and lets them start after it", async () => {
        const unit = SERVICE_UNITS[0];
        sshOk(env, "primary", `systemctl stop ${unit}`);
        // An activation in progress, as the standby's watchdog or an emergency flip leaves it: a marker naming a live process.
        sshOk(env, "standby", `systemd-run -q --unit=${ACTIVATING_STAND_IN} sleep 60 && printf '{"pid": %s}\\n' "$(systemctl show -p MainPID --value ${ACTIVATING_STAND_IN})" > ${ACTIVATING}`);
        try {
            assert.notEqual(ssh(env, "primary", `systemctl start ${unit}`).status, 0, "the start is refused");
            assert.notEqual(ssh(env, "primary", `systemctl is-active ${unit}`).stdout.trim(), "active");
            assert.match(ssh(env, "primary", `journalctl -u ${unit} --no-pager -o cat --since '-30s'`).stdout, /the standby is taking over right now/);
            assert.match(ssh(env, "standby", "journalctl -u wirebot-watchdog --no-pager -o cat --since '-30s'").stdout, new RegExp(`refused the primary's claim to start ${unit.replace(".", "\\.")}: an activation is under way`));
        } finally {
            sshOk(env, "standby", `systemctl stop ${ACTIVATING_STAND_IN}; rm -f ${ACTIVATING}`);
        }
        sshOk(env, "primary", `systemctl reset-failed ${unit}; systemctl start ${unit}`);
        assert.equal(ssh(env, "primary", `systemctl is-active ${unit}`).stdout.trim(), "active");
        assert.equal(sampler.serving(), "primary");
    });

    it("switches over (primary stack, then standby stack) under load, losing no acknowledged event", async () => {
        await gatewayAnswers(env, "primary");
        const { load, seconds, output } = await plannedFlip("standby");
        await gatewayAnswers(env, "standby");
        const onStandby = ids(env, "standby");
        const lost = load.acked.filter((a) => !onStandby.has(a.id));
        console.log(`switchover: flip to standby serving ${seconds.toFixed(1)} s; acknowledged ${load.acked.length} (${load.acked.filter((a) => a.host === "standby").length} by the standby), lost ${lost.length}, refused while switching ${load.failures}`);
        assert.match(output, /switchover: writes stopped and shipped \(\/data\/wirebot\/scoreboard\/events\.db at transaction \d+.*\), the standby's replicas matched in \d+ ms/);
        assert.match(output, /the standby already serves/);
        assert.deepEqual(lost.map((a) => a.id), [], "every acknowledged event is on the standby");
        assert.ok(seconds < 30, `switchover took ${seconds} s`);
        assert.deepEqual(unitsActive(env, "primary"), SERVICE_UNITS.map(() => "inactive").concat("inactive"), "the primary's services and connector are stopped");
        assert.match(sshOk(env, "primary", `systemctl is-enabled ${CONNECTOR} || true`), /disabled/);
    });

    it("refuses a failback run from the standby stack first, changing nothing", async () => {
        refused(await flipServing(env, "standby", false), /this standby still takes writes and the primary has not taken them/, "standby first");
        assert.equal(sampler.serving(), "standby");
    });

    it("fails back (primary stack, then standby stack): the standby's events merged by id, its new tenant copied, replication starts over", async () => {
        sshOk(env, "standby", `mkdir -p $(dirname ${TENANT_DB}) && sqlite3 ${TENANT_DB} "create table events (id text primary key, kind text); insert into events values ('newco-1', 'signup');" && chown -R wirebot:wirebot $(dirname ${TENANT_DB})`);
        const { load, seconds, output } = await plannedFlip("primary");
        const onPrimary = ids(env, "primary");
        const lost = load.acked.filter((a) => !onPrimary.has(a.id));
        console.log(`failback: flip to primary serving ${seconds.toFixed(1)} s; acknowledged ${load.acked.length} (${load.acked.filter((a) => a.host === "standby").length} by the standby), lost ${lost.length}; ${/failback: .*/.exec(output)?.[0]}`);
        assert.match(output, /failback: merged/);
        await gatewayAnswers(env, "primary");
        assert.deepEqual(lost.map((a) => a.id), [], "every acknowledged event is on the primary");
        assert.deepEqual([...ids(env, "primary", TENANT_DB)], ["newco-1"], "the tenant created on the standby is on the primary");
        assert.deepEqual(unitsActive(env, "standby"), SERVICE_UNITS.map(() => "inactive").concat("inactive"));
        // Replication starts over from the primary as it is now: a restore on the standby has every event.
        await replicationRuns(env);
        const handback = JSON.parse(sshOk(env, "standby", "cat /var/lib/wirebot-failover/handback.json")) as { merged: boolean };
        assert.equal(handback.merged, true);
    });

    it("replicates a tenant created on the primary after the failback, with no pulumi up", async () => {
        const tenant = `after-failback-${Date.now()}`;
        const response = await fetch(`http://${env.address.primary}:8100/v1/events`, {
            method: "POST",
            headers: { "content-type": "application/json", "x-tenant": tenant },
            body: JSON.stringify({ id: `${tenant}-1`, kind: "signup" }),
            signal: AbortSignal.timeout(10_000),
        });
        assert.equal(response.status, 200, `the scoreboard took the new tenant's first event: ${await response.text()}`);
        const replica = `${replicaPathOf(PATHS, PATHS.tenantsDir)}/${tenant}/events.db`;
        const started = Date.now();
        await waitFor(
            "the new tenant's database to be restorable on the standby",
            () => {
                const r = ssh(env, "standby", `rm -f /tmp/tenant-check.db* && litestream restore -o /tmp/tenant-check.db file://${replica} >/dev/null 2>&1 && sqlite3 /tmp/tenant-check.db "select id from events"`);
                return r.status === 0 && r.stdout.trim() === `${tenant}-1` ? true : undefined;
            },
            30_000,
            500,
        );
        console.log(`tenant created on the primary after the failback: restorable on the standby after ${((Date.now() - started) / 1000).toFixed(1)} s`);
    });

    it("fails over in an emergency with the standby stack alone, the primary powered off, losing at most one sync interval", async () => {
        const load = new Load(env, sampler);
        let poweredOff = 0;
        let flipped = 0;
        let serving = 0;
        let output = "";
        try {
            await sleep(3000);
            poweredOff = Date.now();
            hosts("poweroff", "primary");
            // The operator sees the outage and flips; the flip is accepted once heartbeats have stopped for the miss threshold.
            await waitFor("the watchdog to count the misses", () => (/missed 3 heartbeat/.test(ssh(env, "standby", "journalctl -u wirebot-watchdog --no-pager -o cat --since '-60s'").stdout) ? true : undefined), 60_000, 500);
            flipped = Date.now();
            output = ok(await flipServing(env, "standby", true), "pulumi up -s standby (activeSide standby, primary down)");
            serving = await waitFor("the standby to serve", () => (sampler.serving() === "standby" ? Date.now() : undefined), 30_000, 50);
            await sleep(3000);
        } finally {
            await load.stop();
        }
        const survived = ids(env, "standby");
        const lost = load.acked.filter((a) => a.host === "primary" && !survived.has(a.id));
        const byStandby = load.acked.filter((a) => a.host === "standby");
        console.log(`emergency failover: flip to standby serving ${((serving - flipped) / 1000).toFixed(1)} s (power off to flip ${((flipped - poweredOff) / 1000).toFixed(1)} s); acknowledged by the primary ${load.acked.length - byStandby.length}, lost ${lost.length}`);
        assert.match(output, /emergency failover: serving from the replicas/);
        assert.ok(lost.length <= LOAD_PER_SECOND, `${lost.length} acknowledged events lost: more than one 1 s sync interval`);
        assert.ok(byStandby.every((a) => survived.has(a.id)));
    });

    it("keeps a primary that comes back off, connector and services, until the config makes it active", async () => {
        hosts("poweron", "primary");
        await waitFor("the primary's agent", () => (ssh(env, "primary", "systemctl is-active wirebot-replicator").stdout.trim() === "active" ? true : undefined), 60_000, 1000);
        await sleep(8000);
        assert.equal(sampler.on.primary, false, "the connector did not reconnect");
        // Refused at ExecStartPre, the services never run their main process (systemd retries the check meanwhile).
        for (const unit of SERVICE_UNITS) {
            assert.equal(sshOk(env, "primary", `systemctl show -p MainPID --value ${unit}`).trim(), "0", `${unit} runs on the returning primary`);
        }
        assert.equal(ssh(env, "primary", "curl -s -m 2 -o /dev/null -w '%{http_code}' http://127.0.0.1:8100/health").stdout.trim(), "000", "the scoreboard takes no writes");
        assert.match(ssh(env, "primary", `journalctl -u ${SERVICE_UNITS[0]} --no-pager -o cat`).stdout, /the standby serves/);
    });

    it("fails back after the emergency: the events the standby took merged, the ones only the dead primary had kept", async () => {
        // The primary stack records the emergency first, so that the failback is a change the engine carries out.
        const recorded = ok(await flipServing(env, "primary", false), "pulumi up -s primary (activeSide standby, after the emergency)");
        assert.match(recorded, /the primary does not serve/);
        assert.equal(sampler.serving(), "standby");
        const { load } = await plannedFlip("primary");
        const onPrimary = ids(env, "primary");
        const lost = load.acked.filter((a) => !onPrimary.has(a.id));
        console.log(`failback after emergency: acknowledged ${load.acked.length}, lost ${lost.length}`);
        assert.deepEqual(lost.map((a) => a.id), []);
    });

    it("after an automatic failover, changes nothing until the config acknowledges it, then fails back", async () => {
        await setAgents(env, HEARTBEAT_SECONDS, true);
        await sleep(3000);
        hosts("poweroff", "primary");
        await waitFor("the automatic takeover", () => (sampler.serving() === "standby" ? true : undefined), 60_000, 200);
        hosts("poweron", "primary");
        await waitFor("heartbeats from the returning primary", () => (/heartbeats are back/.test(ssh(env, "standby", "journalctl -u wirebot-watchdog --no-pager -o cat --since '-90s'").stdout) ? true : undefined), 90_000, 1000);

        // The config still says primary on both stacks: a pulumi up of either changes nothing, and the standby keeps serving.
        for (const stack of ["primary", "standby"] as const) {
            const r = await up(env, stack);
            assert.equal(r.status, 0, `pulumi up -s ${stack}: ${r.stdout}${r.stderr}`);
            assert.match(r.stdout, /Resources:\n\s+\d+ unchanged\n/, `pulumi up -s ${stack} changed something after an unacknowledged failover`);
        }
        assert.equal(sampler.serving(), "standby");
        const takeover = JSON.parse(sshOk(env, "standby", "cat /var/lib/wirebot-failover/takeover.json")) as { automatic?: boolean; acknowledged?: boolean };
        assert.equal(takeover.automatic, true);
        assert.notEqual(takeover.acknowledged, true, "not acknowledged yet");

        // Acknowledge, as the runbook says: standby on both stacks, the primary stack first.
        assert.match(ok(await flipServing(env, "primary", false), "acknowledge: pulumi up -s primary (activeSide standby)"), /the primary does not serve/);
        assert.match(ok(await flipServing(env, "standby", true), "acknowledge: pulumi up -s standby (activeSide standby)"), /acknowledged the automatic failover/);
        const { load } = await plannedFlip("primary");
        const onPrimary = ids(env, "primary");
        assert.deepEqual(load.acked.filter((a) => !onPrimary.has(a.id)).map((a) => a.id), []);
    });

    it("switches over a database whose writer died between its commit and publishing it: both sides end up agreeing on that transaction, nothing acknowledged lost", async () => {
        const scoreboard = SERVICE_UNITS.find((u) => u.includes("scoreboard"))!;
        const id = `unpublished-${Date.now()}`;
        sshOk(env, "primary", `systemctl stop ${scoreboard} && python3 /opt/wirebot-lab/killed-writer.py ${EVENTS_DB} ${id}`);
        assert.equal(sshOk(env, "primary", `sqlite3 -readonly ${EVENTS_DB} "select count(*) from events where id = '${id}'"`).trim(), "0", "readers of the live file do not see it");

        // Litestream has shipped it. Either the primary's WAL still holds it (the
        // durable copy counts it, the replica matches, the standby serves it), or
        // a later write here overwrote it (the replica holds a transaction the
        // primary does not: it is replicated afresh, and nobody has it).
        const output = ok(await flipServing(env, "primary", false), "pulumi up -s primary (activeSide standby)");
        assert.match(output, /switchover: writes stopped and shipped .*the standby's replicas matched in \d+ ms/);
        const reseeded = /replicating afresh from this host and asking once more/.test(output);
        await waitFor("the standby to serve", () => (sampler.serving() === "standby" ? true : undefined), 60_000, 50);
        ok(await flipServing(env, "standby", true), "pulumi up -s standby (activeSide standby)");
        console.log(`killed writer: the transaction was ${reseeded ? "overwritten on the primary; the replica was replicated afresh" : "still in the primary's WAL; the standby serves it"}`);
        assert.equal(ids(env, "standby").has(id), !reseeded);

        const { load } = await plannedFlip("primary");
        const onPrimary = ids(env, "primary");
        assert.equal(onPrimary.has(id), !reseeded, "the primary ends up as the standby was");
        assert.deepEqual(load.acked.filter((a) => !onPrimary.has(a.id)).map((a) => a.id), []);
    });

    it("never had two connectors on at once", () => {
        console.log(`connector sampler: ${sampler.samples} samples, at most ${sampler.maxOnAtOnce} connector(s) on at once`);
        assert.ok(sampler.samples > 100);
        assert.equal(sampler.maxOnAtOnce, 1);
    });
});
