import { strict as assert } from "node:assert";
import { after, before, describe, it } from "node:test";
import { SYNC_DIR, SYNC_OUTBOX_DIR } from "../../src/render/file-sync";
import { EVENTS_DB, lostOn, plannedFlip, replicationRuns, succeeded } from "../../lab/flips";
import { hosts, LabEnv, LabHost, ssh, sshOk, waitFor } from "../../lab/lab";
import { flipServing, Load, RuntimeLab, Sampler, startRuntimeLab, stopRuntimeLab } from "../../lab/runtime-harness";

// A failback that dies halfway, for real, on the lab hosts under the 50
// events/s load: the standby's disk full at its export, its agent killed in the
// middle of the export, the primary powered off in the middle of the merge,
// Litestream unable to start again after it. Each time the same pulumi up, run
// again once the fault is gone, finishes the failback with every acknowledged
// event on the primary and replication running from it.

const HEARTBEAT_SECONDS = 2;
const HANDBACK = "/var/lib/wirebot-failover/handback.json";
const NOTE = "/home/wirebot/clawd/written-on-the-standby.md";
const FAULT_UNIT = "wirebot-lab-fault";
const LITESTREAM_DROP_IN = "/run/systemd/system/wirebot-litestream.service.d/lab-fault.conf";
const BULK_ROWS = 300_000;
const alerts: string[] = [];

function handbackState(env: LabEnv): string {
    return (JSON.parse(sshOk(env, "standby", `cat ${HANDBACK}`)) as { state: string }).state;
}

/** A fault armed on a host: a transient unit that waits (bounded) for its moment, then strikes. */
function arm(env: LabEnv, host: LabHost, script: string): void {
    sshOk(env, host, `systemctl reset-failed ${FAULT_UNIT} 2>/dev/null; systemd-run -q --unit=${FAULT_UNIT} /bin/bash -c '${script}'`);
}

function failed(r: { status: number; stdout: string; stderr: string }, what: string): string {
    assert.notEqual(r.status, 0, `${what} did not fail: ${r.stdout}`);
    return r.stdout + r.stderr;
}

describe("a failback that dies halfway, finished by running it again", { timeout: 25 * 60_000 }, () => {
    let env: LabEnv;
    let sampler: Sampler;
    let lab: RuntimeLab | undefined;

    before(async () => {
        lab = await startRuntimeLab(alerts, HEARTBEAT_SECONDS, false);
        ({ env, sampler } = lab);
    });

    after(() => stopRuntimeLab(lab));

    /** A switchover under load, nothing lost: the standby serves and takes writes. */
    async function standbyServes(): Promise<void> {
        const { load } = await plannedFlip(env, sampler, "standby");
        assert.deepEqual(lostOn(env, "standby", load), []);
    }

    /** Runs a fault case under the load, which stops however the case ends. */
    async function underLoad(run: (load: Load) => Promise<void>): Promise<void> {
        const load = new Load(env, sampler);
        try {
            await run(load);
        } finally {
            await load.stop();
        }
    }

    /** The failback's two steps once the fault is gone, then the checks every failback must pass. */
    async function finishFailback(load: Load, what: string): Promise<string> {
        const output = succeeded(await flipServing(env, "primary", true), `${what}: pulumi up -s primary, run again`);
        await waitFor("the primary to serve", () => (sampler.serving() === "primary" ? true : undefined), 60_000, 50);
        succeeded(await flipServing(env, "standby", false), `${what}: pulumi up -s standby`);
        await load.stop();
        const lost = lostOn(env, "primary", load);
        console.log(`${what}: acknowledged ${load.acked.length} (${load.acked.filter((a) => a.host === "standby").length} by the standby), lost ${lost.length}, refused while nobody served ${load.failures}`);
        assert.deepEqual(lost, [], "every acknowledged event is on the primary");
        assert.equal(sshOk(env, "primary", `sqlite3 ${EVENTS_DB} 'pragma integrity_check'`).trim(), "ok");
        assert.equal(ssh(env, "primary", "systemctl is-active wirebot-litestream.service").stdout.trim(), "active");
        await replicationRuns(env);
        return output;
    }

    it("refuses the failback before the standby stops when its disk has no room for the export; with room made, the same up completes and brings back a file the standby wrote", async () => {
        await standbyServes();
        sshOk(env, "standby", `install -d -o wirebot -g wirebot $(dirname ${NOTE}) && runuser -u wirebot -- sh -c 'echo "written while the standby served" > ${NOTE}'`);
        // The outbox's filesystem swapped for a 32 MiB one holding what it held: less than the export's margin.
        sshOk(env, "standby", `tar -C ${SYNC_DIR} -cf /root/sync-aside.tar . && mount -t tmpfs -o size=32m lab-full ${SYNC_DIR} && tar -C ${SYNC_DIR} -xpf /root/sync-aside.tar`);
        await underLoad(async (load) => {
            let refusal = "";
            try {
                refusal = failed(await flipServing(env, "primary", true), "pulumi up -s primary with the standby's disk full");
            } finally {
                sshOk(env, "standby", `tar -C ${SYNC_DIR} -cf /root/sync-aside.tar . && umount ${SYNC_DIR} && tar -C ${SYNC_DIR} -xpf /root/sync-aside.tar`);
            }
            assert.match(refusal, new RegExp(`not enough space in ${SYNC_DIR} for the copy of this standby's databases and files: need [\\d.]+ MiB .*free [\\d.]+ MiB; free some and run it again; this standby goes on serving, nothing was stopped`));
            assert.equal(sampler.serving(), "standby", "the standby still serves");
            assert.equal(ssh(env, "standby", `test -e ${SYNC_OUTBOX_DIR}.partial`).status, 1, "nothing half-written");

            const output = await finishFailback(load, "failback after a full disk");
            assert.match(output, /failback: merged .*files: [1-9]\d* taken from the standby/);
            assert.equal(sshOk(env, "primary", `cat ${NOTE}`).trim(), "written while the standby served");
            assert.equal(sshOk(env, "primary", `stat -c %U ${NOTE}`).trim(), "wirebot");
        });
    });

    it("finishes an export whose agent was killed halfway through it", async () => {
        await standbyServes();
        // Strikes while the export is being written: the intent is on disk, the outbox not yet.
        // kill, a shell builtin, strikes within microseconds; systemctl kill would take longer than the export.
        arm(env, "standby", `pid=$(systemctl show -p MainPID --value wirebot-watchdog.service); until [ -e ${SYNC_OUTBOX_DIR}.partial ] || [ $SECONDS -ge 120 ]; do :; done; [ -e ${SYNC_OUTBOX_DIR}.partial ] && kill -KILL $pid`);
        await underLoad(async (load) => {
            failed(await flipServing(env, "primary", true), "pulumi up -s primary with the standby's agent killed");
            assert.equal(handbackState(env), "exporting", "the standby's record says where it died");
            assert.equal(sampler.serving(), undefined, "the standby stopped, the primary has not merged: nobody serves");
            await waitFor("the standby's agent to be back", () => (ssh(env, "standby", "systemctl is-active wirebot-watchdog.service").stdout.trim() === "active" ? true : undefined), 30_000, 500);

            const output = await finishFailback(load, "failback after the standby's agent was killed");
            assert.match(output, /failback: merged/);
            assert.equal(handbackState(env), "merged");
        });
    });

    it("finishes a failback whose primary lost power in the middle of the merge", async () => {
        await standbyServes();
        // Enough written on the standby that the merge's write transaction takes a moment (about half a second) to catch.
        sshOk(env, "standby", `sqlite3 -cmd '.timeout 5000' ${EVENTS_DB} "with recursive n(x) as (select 1 union all select x + 1 from n where x < ${BULK_ROWS}) insert into events (id, kind) select 'bulk-' || x, 'bulk' from n"`);
        // The merge's write transaction (the one sqlite3 run on the live database that is not -readonly), frozen where it is.
        arm(env, "primary", `until pkill -STOP -f "^sqlite3 -init /dev/null -batch -bail ${EVENTS_DB.replace("events", "[e]vents")}$" || [ $SECONDS -ge 120 ]; do :; done`);
        await underLoad(async (load) => {
            const flip = flipServing(env, "primary", true);
            await waitFor("the merge to be under way", () => (/T/.test(ssh(env, "primary", "ps -o stat= -C sqlite3").stdout) ? true : undefined), 120_000, 200);
            hosts("poweroff", "primary");
            failed(await flip, "pulumi up -s primary with the primary powered off mid-merge");
            hosts("poweron", "primary");
            await waitFor("the primary's agent", () => (ssh(env, "primary", "systemctl is-active wirebot-replicator").stdout.trim() === "active" ? true : undefined), 60_000, 1000);
            assert.equal(sshOk(env, "primary", `sqlite3 ${EVENTS_DB} 'pragma integrity_check'`).trim(), "ok", "the interrupted merge left the database whole");
            assert.equal(handbackState(env), "exported", "the export waits for its merge");

            const output = await finishFailback(load, "failback after the primary lost power mid-merge");
            assert.match(output, /failback: merged \/data\/wirebot\/scoreboard\/events\.db: \d+ new row/);
            assert.equal(sshOk(env, "primary", `sqlite3 ${EVENTS_DB} "select count(*) from events where kind = 'bulk'"`).trim(), String(BULK_ROWS));
        });
    });

    it("serves when Litestream will not start again after the merge, fails the step and alerts; the next up replicates afresh", async () => {
        await standbyServes();
        sshOk(env, "primary", `mkdir -p $(dirname ${LITESTREAM_DROP_IN}) && printf '[Service]\\nExecStartPre=/bin/false\\n' > ${LITESTREAM_DROP_IN} && systemctl daemon-reload`);
        await underLoad(async (load) => {
            let output = "";
            try {
                output = failed(await flipServing(env, "primary", true), "pulumi up -s primary with Litestream unable to start");
                await waitFor("the primary to serve", () => (sampler.serving() === "primary" ? true : undefined), 30_000, 50);
            } finally {
                sshOk(env, "primary", `rm -f ${LITESTREAM_DROP_IN} && systemctl daemon-reload`);
            }
            assert.match(output, /failback: merged .*; but replication did not start again: Command failed: systemctl start wirebot-litestream\.service/);
            assert.match(output, /serving, but the flip left a debt/);
            assert.ok(alerts.some((a) => /failback: replication did not start again/.test(a)), `alerts: ${alerts.join(" | ")}`);

            const again = await finishFailback(load, "failback after Litestream failed to start");
            assert.match(again, /the primary already serves; \d+ database\(s\) replicate afresh/);
        });
    });

    it("never had two connectors on at once", () => {
        console.log(`connector sampler: ${sampler.samples} samples, at most ${sampler.maxOnAtOnce} connector(s) on at once`);
        assert.equal(sampler.maxOnAtOnce, 1);
    });
});
