import { strict as assert } from "node:assert";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { projectDir, pulumi, pulumiOk, setConfig } from "../../lab/engine";
import { ops, OpsRun, opsStart } from "../../lab/ops";
import { EVENTS_DB, eventIds as ids, replicationRuns, sleep } from "../../lab/flips";
import { hosts, LabEnv, LabHost, ssh, waitFor } from "../../lab/lab";
import { Load, RuntimeLab, Sampler, setAgents, startRuntimeLab, stopRuntimeLab } from "../../lab/runtime-harness";

// The operator's CLI on the real hosts: `wirebot-ops` (package.json's bin, the
// launcher npx runs) in the lab's project directory with the lab's Pulumi
// environment, as an operator runs it. Every flip goes through it, under the
// 50 events/s load with the connector sampler running: status against the
// hosts' agents, a dry run that changes nothing, refusals passed through with
// the config put back, a switchover and a failback losing nothing, a second
// command refused while one runs, a stack held by another update, a
// half-finished switchover finished by running it again, an emergency failover
// with the primary powered off, and an automatic failover acknowledged. Heartbeats
// every 2 s; the watchdog acts on its own only in the automatic-failover test.

const HEARTBEAT_SECONDS = 2;
const alerts: string[] = [];

function ok(r: OpsRun, what: string): string {
    assert.equal(r.status, 0, `${what} failed (${r.status}):\n${r.stdout}${r.stderr}`);
    return r.stdout;
}

/** Refused by the hosts: exit 3, their reason, nothing changed. */
function refused(r: OpsRun, reason: RegExp, what: string): void {
    assert.equal(r.status, 3, `${what} was not refused (${r.status}):\n${r.stdout}${r.stderr}`);
    assert.match(r.stderr, reason, what);
    assert.match(r.stderr, /Nothing changed: the hosts are as they were/, what);
}

async function activeSide(env: LabEnv, stack: LabHost): Promise<string> {
    return (await pulumiOk(env, ["config", "get", "-s", stack, "wirebot:activeSide"])).stdout.trim();
}

async function statusJson(env: LabEnv): Promise<{ code: number; doc: { activeSide: { serving: string[]; expected: string | null }; findings: { severity: string; message: string; fix?: string }[]; hosts: Record<LabHost, { reachable: boolean; status?: Record<string, unknown> }> } }> {
    const r = await ops(env, "status", "--json");
    return { code: r.status, doc: JSON.parse(r.stdout) };
}

/** No serving problem and every agent reached (exit 0, or 1 for a lag or a file sync catching up after a flip). */
function assertServingAsConfigured(status: Awaited<ReturnType<typeof statusJson>>, side: LabHost): void {
    assert.ok(status.code <= 1, `wirebot-ops status exit ${status.code}: ${JSON.stringify(status.doc.findings)}`);
    assert.equal(status.doc.activeSide.expected, side);
    assert.deepEqual(status.doc.activeSide.serving, [side]);
}

describe("the operator's CLI (wirebot-ops) on real hosts", { timeout: 30 * 60_000 }, () => {
    let env: LabEnv;
    let sampler: Sampler;
    let lab: RuntimeLab | undefined;
    let privateKey = "";
    const printed: string[] = [];

    before(async () => {
        lab = await startRuntimeLab(alerts, HEARTBEAT_SECONDS, false);
        ({ env, sampler } = lab);
        privateKey = fs.readFileSync(env.sshKey, "utf8");
    });

    after(() => stopRuntimeLab(lab));

    /** A flip through the CLI under load; every event acknowledged must be on the host that serves after it. */
    async function flipUnderLoad(command: string, to: LabHost): Promise<{ run: OpsRun; lost: string[]; acked: number }> {
        const load = new Load(env, sampler);
        let run: OpsRun;
        try {
            await sleep(3000);
            run = await ops(env, command);
            printed.push(run.stdout, run.stderr);
            ok(run, `wirebot-ops ${command}`);
            await waitFor(`the ${to} to serve`, () => (sampler.serving() === to ? true : undefined), 30_000, 50);
            await sleep(3000);
        } finally {
            await load.stop();
        }
        const survived = ids(env, to);
        return { run, lost: load.acked.filter((a) => !survived.has(a.id)).map((a) => a.id), acked: load.acked.length };
    }

    it("status: the configured primary serves alone, heartbeats and replication fine, exit 0", async () => {
        // Lag is known once something is written and shipped: one event through the scoreboard, as users write.
        const event = JSON.stringify({ id: `status-${Date.now()}`, kind: "check" });
        const post = `curl -fsS -m 2 -o /dev/null -X POST -H 'content-type: application/json' -d '${event}' http://127.0.0.1:8100/v1/events`;
        await waitFor("the scoreboard to take an event", () => (ssh(env, "primary", post).status === 0 ? true : undefined), 60_000, 1000);
        const lagShown = new RegExp(`${EVENTS_DB.replace(/\./g, "\\.")} +lag \\d+\\.\\d s`);
        let r = await ops(env, "status");
        for (let tries = 0; !lagShown.test(r.stdout) && tries < 10; tries++) {
            await sleep(2000);
            r = await ops(env, "status");
        }
        printed.push(r.stdout, r.stderr);
        assert.equal(r.status, 0, r.stdout + r.stderr);
        assert.match(r.stdout, /active side: the config says primary; serving now: primary/);
        assert.match(r.stdout, /^primary +primary +primary +succeeded /m);
        assert.match(r.stdout, /^standby +\d+\.\d+\.\d+\.\d+ +no +received \d+ s ago/m);
        assert.match(r.stdout, lagShown);
        assert.match(r.stdout, /health: healthy \(exit 0\)/);
        const { doc } = await statusJson(env);
        assert.deepEqual(doc.activeSide.serving, ["primary"]);
        assert.equal(doc.hosts.standby.reachable, true);
    });

    it("switchover --dry-run previews both stacks in order and changes nothing, not even the config file", async () => {
        const file = path.join(projectDir(env), "Pulumi.primary.yaml");
        const before = fs.readFileSync(file, "utf8");
        const r = await ops(env, "switchover", "--dry-run");
        printed.push(r.stdout, r.stderr);
        ok(r, "switchover --dry-run");
        assert.match(r.stdout, /pulumi preview -s primary with wirebot:activeSide=standby[\s\S]*~ primary-serving +would replace[\s\S]*pulumi preview -s standby with wirebot:activeSide=standby[\s\S]*~ standby-serving +would replace/);
        assert.match(r.stdout, /Dry run: nothing was changed/);
        assert.equal(fs.readFileSync(file, "utf8"), before);
        assert.equal(await activeSide(env, "primary"), "primary");
        assert.equal(await activeSide(env, "standby"), "primary");
        assert.equal(sampler.serving(), "primary");
    });

    it("failover while the primary is alive is refused with the standby's reason, the config put back", async () => {
        const r = await ops(env, "failover");
        printed.push(r.stdout, r.stderr);
        refused(r, /Refused by the standby host \(\d+\.\d+\.\d+\.\d+\)[\s\S]*wirebot-failover: the primary is alive \(last heartbeat \d+ s ago\)/, "failover with the primary alive");
        assert.match(r.stderr, /The config is as it was: wirebot:activeSide primary on stack primary, wirebot:activeSide primary on stack standby/);
        assert.equal(await activeSide(env, "primary"), "primary");
        assert.equal(await activeSide(env, "standby"), "primary");
        assert.equal(sampler.serving(), "primary");
    });

    it("switchover under load: the steps with their durations, the standby serving, no acknowledged event lost; a plain pulumi up has nothing left to do", async () => {
        const { run, lost, acked } = await flipUnderLoad("switchover", "standby");
        console.log(`wirebot-ops switchover: ${(run.ms / 1000).toFixed(1)} s; acknowledged ${acked}, lost ${lost.length}`);
        assert.match(run.stdout, /pulumi up -s primary\n {2}✓ primary-serving +replace +\d+\.\d s\n {6}wirebot-failover: switchover: writes stopped and shipped/);
        assert.match(run.stdout, /pulumi up -s standby\n[\s\S]*wirebot-failover: the standby already serves/);
        assert.match(run.stdout, /active side: standby\. Total \d+\.\d s\./);
        assert.deepEqual(lost, []);
        assert.equal(await activeSide(env, "primary"), "standby");
        assert.equal(await activeSide(env, "standby"), "standby");
        for (const stack of ["primary", "standby"] as const) {
            const r = await pulumi(env, ["preview", "-s", stack, "--expect-no-changes"]);
            assert.equal(r.status, 0, `pulumi preview -s ${stack} after the switchover:\n${r.stdout}${r.stderr}`);
        }
        assertServingAsConfigured(await statusJson(env), "standby");
    });

    it("refuses a second command while a failback runs, naming it; the failback under load loses nothing", async () => {
        const load = new Load(env, sampler);
        let failback: OpsRun;
        let second: OpsRun;
        try {
            await sleep(3000);
            const running = opsStart(env, ["failback"]);
            await waitFor("the failback to start", () => (/make the primary the active side/.test(running.output()) ? true : undefined), 60_000, 50);
            second = await ops(env, "switchover");
            failback = await running.done;
            await waitFor("the primary to serve", () => (sampler.serving() === "primary" ? true : undefined), 30_000, 50);
            await sleep(3000);
        } finally {
            await load.stop();
        }
        printed.push(second.stdout, second.stderr, failback.stdout, failback.stderr);
        assert.equal(second.status, 4, second.stdout + second.stderr);
        assert.match(second.stderr, new RegExp(`refused: wirebot-ops failback by \\S+@${os.hostname()}, process \\d+, started .* is running in this project\\. Nothing was changed\\.`));
        ok(failback, "wirebot-ops failback");
        assert.match(failback.stdout, /wirebot-failover: failback: merged .*; \d+ database\(s\) replicate afresh/);
        const onPrimary = ids(env, "primary");
        assert.deepEqual(load.acked.filter((a) => !onPrimary.has(a.id)).map((a) => a.id), []);
        // The failback paid everything it owed: replication started over, the export is recorded as merged on both sides.
        await replicationRuns(env);
        const after = await statusJson(env);
        assertServingAsConfigured(after, "primary");
        assert.equal(after.doc.hosts.primary.status?.reseedOwed, null, JSON.stringify(after.doc.hosts.primary.status));
        const handback = after.doc.hosts.standby.status?.handback as { id: string; state?: string } | null;
        assert.equal(handback?.state, "merged");
        assert.equal((after.doc.hosts.primary.status?.lastMerge as { id: string } | null)?.id, handback?.id);
    });

    it("refuses a flip while another update holds its stack, naming the holder, and leaves the config as it was", async () => {
        // What a pulumi up running elsewhere leaves in the file backend while it runs.
        const dir = path.join(env.stateDir, "pulumi-backend", ".pulumi", "locks", "organization", "wirebot-failover", "standby");
        const lock = path.join(dir, `${crypto.randomUUID()}.json`);
        fs.mkdirSync(dir, { recursive: true });
        fs.writeFileSync(lock, JSON.stringify({ pid: process.pid, username: "operator2", hostname: "laptop", timestamp: new Date().toISOString() }));
        let r: OpsRun;
        try {
            r = await ops(env, "failover");
        } finally {
            fs.rmSync(lock);
        }
        printed.push(r.stdout, r.stderr);
        assert.equal(r.status, 4, r.stdout + r.stderr);
        assert.match(r.stderr, new RegExp(`stack standby is locked: another update \\(operator2@laptop, process ${process.pid}, since \\S+\\) is running on it`));
        assert.match(r.stderr, /Nothing was changed\./);
        assert.equal(await activeSide(env, "primary"), "primary");
        assert.equal(await activeSide(env, "standby"), "primary");
        assert.equal(sampler.serving(), "primary");
    });

    it("finishes a switchover whose standby stack failed when it is run again, running only the standby stack", async () => {
        // The standby stack fails before it runs anything: its pin of the standby's host key is wrong.
        await setConfig(env, "standby", "wirebot:standby.existing.hostKey", env.hostKey.primary);
        const first = await ops(env, "switchover");
        printed.push(first.stdout, first.stderr);
        assert.equal(first.status, 1, first.stdout + first.stderr);
        assert.match(first.stdout, /pulumi up -s primary\n {2}✓ primary-serving/);
        assert.match(first.stderr, /pulumi up -s standby failed on stack standby:[\s\S]*presents another SSH host key than the pinned one/);
        assert.match(first.stderr, /The config says standby on both stacks \(set by this run\)\. Once the cause is fixed, run wirebot-ops switchover again/);
        await waitFor("the standby to serve", () => (sampler.serving() === "standby" ? true : undefined), 30_000, 50);

        await setConfig(env, "standby", "wirebot:standby.existing.hostKey", env.hostKey.standby);
        const again = await ops(env, "switchover");
        printed.push(again.stdout, again.stderr);
        ok(again, "wirebot-ops switchover, again");
        assert.match(again.stdout, /resuming: the primary stack's last update already applied standby; running what is left/);
        assert.doesNotMatch(again.stdout, /^pulumi up -s primary$/m, "the primary stack is not run again");
        assert.match(again.stdout, /pulumi up -s standby/);
        assertServingAsConfigured(await statusJson(env), "standby");
        ok(await ops(env, "failback"), "wirebot-ops failback");
    });

    it("fails over in an emergency with the primary powered off, then acknowledges and fails back once it is back", async () => {
        const load = new Load(env, sampler);
        let run: OpsRun;
        try {
            await sleep(3000);
            hosts("poweroff", "primary");
            await waitFor("the watchdog to count the misses", () => (/missed 3 heartbeat/.test(ssh(env, "standby", "journalctl -u wirebot-watchdog --no-pager -o cat --since '-60s'").stdout) ? true : undefined), 60_000, 500);
            run = await ops(env, "failover");
            await waitFor("the standby to serve", () => (sampler.serving() === "standby" ? true : undefined), 30_000, 50);
            await sleep(3000);
        } finally {
            await load.stop();
        }
        printed.push(run.stdout, run.stderr);
        ok(run, "wirebot-ops failover");
        assert.doesNotMatch(run.stdout, /^pulumi up -s primary$/m, "the primary stack is not run");
        assert.match(run.stdout, /wirebot-failover: emergency failover: serving from the replicas/);
        assert.match(run.stdout, /next: the primary stack now says standby and was not run\. Once the primary is back .*wirebot-ops acknowledge/);

        const down = await statusJson(env);
        assert.equal(down.code, 4, JSON.stringify(down.doc.findings));
        assert.deepEqual(down.doc.activeSide.serving, ["standby"]);
        assert.equal(down.doc.hosts.primary.reachable, false);

        hosts("poweron", "primary");
        await waitFor("the primary's agent", () => (ssh(env, "primary", "systemctl is-active wirebot-replicator").stdout.trim() === "active" ? true : undefined), 60_000, 1000);
        const acknowledged = await ops(env, "acknowledge");
        printed.push(acknowledged.stdout, acknowledged.stderr);
        ok(acknowledged, "wirebot-ops acknowledge");
        assert.match(acknowledged.stdout, /wirebot-failover: the primary does not serve/);
        assert.equal(sampler.serving(), "standby");
        const { lost } = await flipUnderLoad("failback", "primary");
        assert.deepEqual(lost, []);
    });

    it("after an automatic failover: status says so (exit 3), failback has nothing to do and points at acknowledge, which records it; then fails back", async () => {
        await setAgents(env, HEARTBEAT_SECONDS, true);
        await sleep(3000);
        hosts("poweroff", "primary");
        await waitFor("the automatic takeover", () => (sampler.serving() === "standby" ? true : undefined), 60_000, 200);
        hosts("poweron", "primary");
        await waitFor("heartbeats from the returning primary", () => (/heartbeats are back/.test(ssh(env, "standby", "journalctl -u wirebot-watchdog --no-pager -o cat --since '-90s'").stdout) ? true : undefined), 90_000, 1000);

        const status = await ops(env, "status");
        printed.push(status.stdout, status.stderr);
        assert.equal(status.status, 3, status.stdout);
        assert.match(status.stdout, /CRITICAL +the standby took over automatically at \S+ \(primary missed \d+ heartbeats\); the config still says primary/);
        assert.match(status.stdout, /what to do: wirebot-ops acknowledge/);

        const early = await ops(env, "failback");
        printed.push(early.stdout, early.stderr);
        assert.equal(early.status, 0, "nothing to do from the stacks' view");
        assert.match(early.stdout, /nothing to do: the stacks say primary .* wirebot-ops acknowledge/);

        const acknowledged = await ops(env, "acknowledge");
        printed.push(acknowledged.stdout, acknowledged.stderr);
        ok(acknowledged, "wirebot-ops acknowledge");
        assert.match(acknowledged.stdout, /wirebot-failover: acknowledged the automatic failover/);
        const { lost } = await flipUnderLoad("failback", "primary");
        assert.deepEqual(lost, []);
        assertServingAsConfigured(await statusJson(env), "primary");
    });

    it("never printed a secret, and never had two connectors on at once", () => {
        const all = printed.join("\n");
        assert.ok(!all.includes(privateKey.trim()), "the SSH key never appears");
        assert.ok(!/PRIVATE KEY/.test(all));
        console.log(`connector sampler: ${sampler.samples} samples, at most ${sampler.maxOnAtOnce} connector(s) on at once`);
        assert.ok(sampler.samples > 100);
        assert.equal(sampler.maxOnAtOnce, 1);
    });
});
