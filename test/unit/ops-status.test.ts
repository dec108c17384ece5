import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { hostStatusSchema } from "../../agent/contract";
import { AgentAnswer, askAgent, interpret, knownHostsLine, sshArgs, SshTarget, sshTargets } from "../../src/cli/agents";
import { assess, DEFAULT_ASSESS, STATUS_EXIT, StatusSnapshot, StackSummary } from "../../src/cli/status-report";
import { renderStatus, statusJson } from "../../src/cli/status-render";
import { FAKE_PRIVATE_KEY, PRIMARY_HOST_KEY, STANDBY_HOST_KEY } from "./fixtures";

// wirebot-ops status from recorded answers of the hosts' agents
// (`wirebot-failover status --json`): what it concludes, how it shows it, its
// exit codes; and how it reaches the agents over SSH without showing the key.

const NOW = Date.parse("2026-11-27T10:00:00.000Z");

function answer(name: string): AgentAnswer {
    return { ok: true, status: hostStatusSchema.parse(JSON.parse(fs.readFileSync(path.join(__dirname, "agent-answers", `${name}.json`), "utf8"))) };
}

const unreachable: AgentAnswer = { ok: false, error: "primary host 203.0.113.10:22 cannot be reached over SSH (connect to host 203.0.113.10 port 22: Connection timed out)", fix: "check that the host is up and that this machine reaches it" };

function stack(name: string, config: string, applied: string | undefined, next?: string): StackSummary {
    return {
        name,
        config: config as never,
        recorded: (applied ?? config) as never,
        applied: applied as never,
        lastUpdate: { result: applied ? "succeeded" : "failed", activeSide: (applied ?? config) as never, endTime: new Date("2026-11-27T09:00:00Z") },
        nextCommand: next,
    };
}

function snapshot(stacks: [StackSummary, StackSummary], hosts: [AgentAnswer, AgentAnswer]): StatusSnapshot {
    return {
        at: new Date(NOW).toISOString(),
        project: "/srv/wirebot-failover",
        stacks: { primary: stacks[0], standby: stacks[1] },
        hosts: { primary: { address: "203.0.113.10", answer: hosts[0] }, standby: { address: "198.51.100.7", answer: hosts[1] } },
    };
}

const judge = (s: StatusSnapshot) => assess(s, { ...DEFAULT_ASSESS, nowMs: NOW });

describe("wirebot-ops status: conclusions and exit codes", () => {
    it("healthy: the primary serves as configured, heartbeats and replication fine: exit 0", () => {
        const s = snapshot([stack("primary", "primary", "primary"), stack("standby", "primary", "primary", "all set: the standby is warm.")], [answer("primary-serving"), answer("standby-warm")]);
        const a = judge(s);
        assert.deepEqual(a.findings, []);
        assert.equal(a.exitCode, STATUS_EXIT.healthy);
        assert.deepEqual(a.serving, ["primary"]);
        const text = renderStatus(s, a, NOW).join("\n");
        assert.match(text, /active side: the config says primary; serving now: primary/);
        assert.match(text, /primary {2}203\.0\.113\.10 {2}yes {6}sent 2 s ago, taken by the standby/);
        assert.match(text, /standby {2}198\.51\.100\.7 {2}no {7}received 2 s ago/);
        assert.match(text, /\/data\/wirebot\/scoreboard\/events\.db +lag 0\.4 s/);
        assert.match(text, /tenants\/acme\/events\.db +lag unknown/);
        assert.match(text, /file sync: ok at 2026-11-27T09:55:00\.000Z \(5 min ago\)/);
        assert.match(text, /last drill: 2026-11-01T11:00:00\.000Z: passed, primary off 1\.8 s/);
        assert.match(text, /next \(standby stack\): all set: the standby is warm\./);
        assert.match(text, /health: healthy \(exit 0\)$/);
    });

    it("an automatic failover not acknowledged: a serving problem, exit 3, with the way out", () => {
        const s = snapshot([stack("primary", "primary", "primary"), stack("standby", "primary", "primary")], [answer("primary-standing-down"), answer("standby-took-over-automatically")]);
        const a = judge(s);
        assert.equal(a.exitCode, STATUS_EXIT.serving);
        const critical = a.findings.find((f) => f.severity === "critical");
        assert.match(critical?.message ?? "", /the standby took over automatically at 2026-11-27T09:40:31\.000Z \(primary missed 3 heartbeats\); the config still says primary/);
        assert.equal(critical?.fix, "wirebot-ops acknowledge (primary back) or wirebot-ops failover (primary still down); then wirebot-ops failback");
        const text = renderStatus(s, a, NOW).join("\n");
        assert.match(text, /last takeover: 2026-11-27T09:40:31\.000Z, automatic, NOT acknowledged/);
        assert.match(text, /health: serving problem \(exit 3\); first: wirebot-ops acknowledge/);
    });

    it("replication lag, a failed file sync and a failed drill need attention while serving as configured: exit 1", () => {
        const lagging = answer("primary-standing-down");
        if (lagging.ok) lagging.status.serving = true;
        const a = judge(snapshot([stack("primary", "primary", "primary"), stack("standby", "primary", "primary")], [lagging, answer("standby-warm")]));
        assert.equal(a.exitCode, STATUS_EXIT.attention);
        assert.deepEqual(
            a.findings.map((f) => f.message),
            [
                "replication of /data/wirebot/scoreboard/events.db lags 1190.2 s (more than 60 s)",
                "the last file sync failed at 2026-11-27T09:30:00.000Z (rsync: connection unexpectedly closed)",
                "the last fire drill (2026-11-01T11:00:00.000Z) failed: standby: chat: no answer in 3 s",
            ],
        );
    });

    it("after an emergency failover, the primary down: the standby serves as configured, the primary cannot be asked: exit 4", () => {
        const s = snapshot([stack("primary", "standby", undefined), stack("standby", "standby", "standby")], [unreachable, answer("standby-took-over-automatically")]);
        (s.stacks.primary as { lastUpdate: unknown }).lastUpdate = { result: "succeeded", activeSide: "primary" };
        s.stacks.primary.recorded = "primary";
        const a = judge(s);
        assert.equal(a.exitCode, STATUS_EXIT.unknown);
        assert.deepEqual(a.serving, ["standby"]);
        assert.equal(a.findings[0].severity, "unknown");
        assert.match(a.findings.map((f) => `${f.message} / ${f.fix}`).join("\n"), /stack primary says standby, but its last update applied primary \/ once the primary is back: wirebot-ops acknowledge/);
        assert.match(renderStatus(s, a, NOW).join("\n"), /primary +203\.0\.113\.10 +\? +agent not reached/);
    });

    it("a switchover half done (the primary stack applied it, the standby stack failed) needs attention: exit 1", () => {
        const a = judge(snapshot([stack("primary", "standby", "standby"), stack("standby", "standby", undefined)], [answer("primary-standing-down"), answer("standby-took-over-automatically")]));
        assert.ok(a.findings.some((f) => /stack standby says standby, but its last update failed/.test(f.message) && f.fix === "wirebot-ops switchover"));
    });

    it("nobody serving while both hosts answer is a serving problem", () => {
        const a = judge(snapshot([stack("primary", "primary", "primary"), stack("standby", "primary", "primary")], [answer("primary-standing-down"), answer("standby-warm")]));
        assert.equal(a.exitCode, STATUS_EXIT.serving);
        assert.match(a.findings[0].message, /nobody serves/);
        assert.equal(a.findings[0].fix, "pulumi up -s primary starts the primary's serving role");
    });

    it("both serving is a serving problem", () => {
        const a = judge(snapshot([stack("primary", "primary", "primary"), stack("standby", "primary", "primary")], [answer("primary-serving"), answer("standby-took-over-automatically")]));
        assert.equal(a.exitCode, STATUS_EXIT.serving);
        assert.match(a.findings[0].message, /both hosts run the tunnel connector/);
    });

    it("an older agent's answer: serving read from its units, the rest shown as not available", () => {
        const s = snapshot([stack("primary", "primary", "primary"), stack("standby", "primary", "primary")], [answer("primary-serving"), answer("standby-older-agent")]);
        const a = judge(s);
        assert.equal(a.exitCode, STATUS_EXIT.healthy);
        assert.match(renderStatus(s, a, NOW).join("\n"), /standby {2}198\.51\.100\.7 {2}no {7}n\/a \(older agent\)/);
    });

    it("a failback whose flip served with a debt: the primary serves, the reseed it owes is shown with the re-run that pays it: exit 1", () => {
        const s = snapshot([stack("primary", "primary", undefined), stack("standby", "primary", undefined)], [answer("primary-served-with-debt"), answer("standby-warm")]);
        s.stacks.standby.lastUpdate = { result: "succeeded", activeSide: "standby" };
        const a = judge(s);
        assert.equal(a.exitCode, STATUS_EXIT.attention);
        assert.deepEqual(a.serving, ["primary"]);
        const debt = a.findings.find((f) => /replication has not started again/.test(f.message));
        assert.equal(
            debt?.message,
            "the primary serves, but replication has not started again since the failback that merged export 8d2e51f0-5b7c-4a4e-9d43-2f0c1e6a7b11 (2026-11-27T09:58:31.000Z): the standby holds no fresh replica (the flip left a debt)",
        );
        assert.equal(debt?.fix, "fix the cause (journalctl -u wirebot-litestream on the primary), then wirebot-ops failback again (the primary serves; the re-run finishes its flip): it replicates afresh");
        assert.ok(a.findings.some((f) => /stack primary says primary, but its last update failed/.test(f.message) && f.fix === "wirebot-ops failback"));
        const text = renderStatus(s, a, NOW).join("\n");
        assert.match(text, /replication \(primary -> standby\): Litestream failed/);
        assert.match(text, /last merge on the primary: 8d2e51f0-\S+ at 2026-11-27T09:58:40\.000Z/);
        assert.match(text, /replication owed a fresh start since 2026-11-27T09:58:31\.000Z \(export 8d2e51f0-\S+\): NOT done yet/);
    });

    it("a hand-back that stopped halfway: not complete, the standby's writes only there, a failback finishes it", () => {
        const s = snapshot([stack("primary", "primary", undefined), stack("standby", "primary", undefined)], [answer("primary-standing-down"), answer("standby-export-halfway")]);
        const a = judge(s);
        assert.equal(a.exitCode, STATUS_EXIT.serving, "nobody serves");
        const halfway = a.findings.find((f) => /hand-back stopped halfway/.test(f.message));
        assert.equal(halfway?.message, "the standby's hand-back stopped halfway: export c3a1f7de-2b9e-4f0a-8c55-6d1e0b9a4e21 (2026-11-27T09:58:10.000Z) is not complete, and the writes it took exist only on the standby");
        assert.equal(halfway?.fix, "wirebot-ops failback (it has the standby finish its export and merges it)");
        assert.ok(!a.findings.some((f) => /stopped without handing back/.test(f.message)), "the export under way is the hand-back owed");
        const text = renderStatus(s, a, NOW).join("\n");
        assert.match(text, /last handback: c3a1f7de-\S+ at 2026-11-27T09:58:10\.000Z, NOT complete \(the standby stopped halfway through its export\)/);
        assert.match(text, /clocks: the primary's is 0\.0 s ahead of the standby's, transit included/);
    });

    it("an export left unmerged while the primary serves as its stack applied it: the primary's own flip merges it, a failback would find nothing to run", () => {
        const exported = answer("standby-export-halfway");
        if (exported.ok) exported.status.handback = { ...exported.status.handback!, state: "exported" };
        const a = judge(snapshot([stack("primary", "primary", "primary"), stack("standby", "primary", "primary")], [answer("primary-serving"), exported]));
        assert.equal(a.exitCode, STATUS_EXIT.attention);
        const f = a.findings.find((x) => /is not merged into the primary/.test(x.message));
        assert.equal(f?.fix, "wirebot-failover flip serve on the primary (it already serves; that merges it)");
    });

    it("an export kept aside with keep-export and clocks apart: each needs attention, with what to do: exit 1", () => {
        const s = snapshot([stack("primary", "primary", "primary"), stack("standby", "primary", "primary")], [answer("primary-serving"), answer("standby-kept-export")]);
        const a = judge(s);
        assert.equal(a.exitCode, STATUS_EXIT.attention);
        assert.deepEqual(
            a.findings.map((f) => f.message),
            [
                "the standby's export 5f0c was kept aside (keep-export) in /var/lib/wirebot/sync/kept/5f0c: the writes it holds are in no live database until merged by hand",
                "the primary's clock is 7.2 s behind the standby's (more than the 5 s allowed for transit; heartbeat of 2026-11-27T09:59:58.000Z): claims to serve and handover calls between the agents are refused until the clocks agree",
            ],
        );
        assert.match(a.findings[0].fix ?? "", /copy the directory to the primary and wirebot-merge each copy there into the live database its manifest\.json names/);
        assert.equal(a.findings[1].fix, "fix time sync on both hosts (timedatectl status; chrony or systemd-timesyncd)");
        const text = renderStatus(s, a, NOW).join("\n");
        assert.match(text, /last handback: 5f0c at 2026-11-20T03:00:00\.000Z, kept aside for a merge by hand in \/var\/lib\/wirebot\/sync\/kept\/5f0c/);
        assert.match(text, /kept export: 5f0c in \/var\/lib\/wirebot\/sync\/kept\/5f0c, for a merge by hand/);
        assert.match(text, /clocks: the primary's is 7\.2 s behind the standby's, transit included \(heartbeat of \S+\), MORE than the 5 s allowed/);
    });

    it("forget-standby and override-serve in force on the primary are shown, each as needing attention", () => {
        const p = answer("primary-serving");
        if (p.ok) Object.assign(p.status, { standbyForgotten: { at: "2026-11-27T09:50:00.000Z" }, serveOverrideUntil: "2026-11-27T10:05:00.000Z" });
        const s = snapshot([stack("primary", "primary", "primary"), stack("standby", "primary", "primary")], [p, answer("standby-warm")]);
        const a = judge(s);
        assert.equal(a.exitCode, STATUS_EXIT.attention);
        assert.match(a.findings[0].message, /the operator's forget-standby of 2026-11-27T09:50:00\.000Z stands on the primary: the next failback that cannot ask the standby serves without the standby's writes/);
        assert.equal(a.findings[0].fix, "if that is no longer meant: rm /var/lib/wirebot-failover/standby-forgotten.json on the primary");
        assert.match(a.findings[1].message, /override-serve is in force on the primary until 2026-11-27T10:05:00\.000Z/);
        const text = renderStatus(s, a, NOW).join("\n");
        assert.match(text, /forget-standby of 2026-11-27T09:50:00\.000Z stands for the next failback/);
        assert.match(text, /override-serve in force on the primary until 2026-11-27T10:05:00\.000Z/);
    });

    it("the standby lost (a failback refused, the config back on standby), the primary off: forget-standby, the witness or override-serve, then failback: exit 4", () => {
        const standbyGone: AgentAnswer = { ok: false, error: "standby host 198.51.100.7:22 cannot be reached over SSH (Connection timed out)", fix: "check that the host is up and that this machine reaches it" };
        const a = judge(snapshot([stack("primary", "standby", "standby"), stack("standby", "standby", "standby")], [answer("primary-standing-down"), standbyGone]));
        assert.equal(a.exitCode, STATUS_EXIT.unknown);
        const f = a.findings.find((x) => /cannot be asked, and the primary does not serve/.test(x.message));
        assert.equal(f?.message, "the standby (the configured side) cannot be asked, and the primary does not serve: if the standby is down, nobody serves");
        assert.match(f?.fix ?? "", /wirebot-ops failback, which needs the standby's agent to answer; if the standby is lost for good, and its writes with it: wirebot-failover forget-standby on the primary, then wirebot-ops failback \(.*wirebot-failover override-serve there\)/);
    });

    it("the primary configured but off while the standby cannot be asked: its units wait for the standby's word, override-serve when you know", () => {
        const standbyGone: AgentAnswer = { ok: false, error: "standby host 198.51.100.7:22 cannot be reached over SSH (Connection timed out)", fix: "check that the host is up and that this machine reaches it" };
        const a = judge(snapshot([stack("primary", "primary", "primary"), stack("standby", "primary", "primary")], [answer("primary-standing-down"), standbyGone]));
        const f = a.findings.find((x) => x.severity === "critical");
        assert.equal(f?.message, "the primary (the configured side) does not serve, and the standby cannot be asked");
        assert.equal(
            f?.fix,
            "bring the standby's agent back (the primary's units ask it before they start); if you know that the standby does not serve: wirebot-failover override-serve on the primary (15 minutes), then systemctl start its units",
        );
    });

    it("--json: one document with the findings and the exit code, and no key material", () => {
        const s = snapshot([stack("primary", "primary", "primary"), stack("standby", "primary", "primary")], [unreachable, answer("standby-warm")]);
        const doc = statusJson(s, judge(s)) as Record<string, unknown>;
        assert.equal(doc.exitCode, STATUS_EXIT.unknown);
        assert.deepEqual(doc.activeSide, { config: { primary: "primary", standby: "primary" }, expected: "primary", serving: [] });
        assert.equal((doc.hosts as Record<string, { reachable: boolean }>).primary.reachable, false);
        assert.ok(!JSON.stringify(doc).includes("PRIVATE KEY"));
    });
});

describe("reaching the agents over SSH", () => {
    const target: SshTarget = { role: "standby", address: "198.51.100.7", port: 2222, user: "ops", hostKey: `${STANDBY_HOST_KEY} root@standby`, privateKey: FAKE_PRIVATE_KEY };

    it("pins the host key from the stack and accepts no other", () => {
        assert.equal(knownHostsLine("203.0.113.10", 22, PRIMARY_HOST_KEY), `203.0.113.10 ${PRIMARY_HOST_KEY}\n`);
        assert.equal(knownHostsLine(target.address, 2222, target.hostKey), `[198.51.100.7]:2222 ${STANDBY_HOST_KEY}\n`);
        const args = sshArgs(target, "/tmp/k", "/tmp/kh", 5).join(" ");
        assert.match(args, /-o UserKnownHostsFile=\/tmp\/kh -o GlobalKnownHostsFile=\/dev\/null -o StrictHostKeyChecking=yes/);
        assert.match(args, /-o BatchMode=yes/);
        assert.match(args, /-p 2222 ops@198\.51\.100\.7 sudo -n \/usr\/local\/bin\/wirebot-failover status --json$/);
    });

    it("writes the key to a 0600 file for the one call, deletes it after, and never puts it in an argument", async () => {
        const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "wirebot-ops-agents-"));
        let seen: string[] = [];
        let keyMode = 0;
        const result = await askAgent(
            target,
            5,
            async (args) => {
                seen = args;
                const keyFile = args[args.indexOf("-i") + 1];
                keyMode = fs.statSync(keyFile).mode & 0o777;
                assert.equal(fs.readFileSync(keyFile, "utf8"), FAKE_PRIVATE_KEY);
                return { status: 0, stdout: fs.readFileSync(path.join(__dirname, "agent-answers", "standby-warm.json"), "utf8"), stderr: "" };
            },
            tmp,
        );
        assert.equal(result.ok, true);
        assert.equal(keyMode, 0o600);
        assert.deepEqual(fs.readdirSync(tmp), [], "nothing is left behind");
        assert.ok(!seen.join(" ").includes("unit-test-key"));
    });

    it("says what went wrong and what to do: host key mismatch, unreachable, no agent, not JSON", () => {
        const said = (status: number | null, stderr: string, stdout = "") => interpret(target, { status, stdout, stderr });
        assert.match(JSON.stringify(said(255, "Host key verification failed.\n")), /presents another SSH host key than the pinned one.*Host key mismatch/);
        assert.match(JSON.stringify(said(255, "ssh: connect to host 198.51.100.7 port 2222: Connection timed out\n")), /cannot be reached over SSH \(ssh: connect to host .* Connection timed out\)/);
        assert.match(JSON.stringify(said(127, "sh: 1: /usr/local/bin/wirebot-failover: not found\n")), /has no \/usr\/local\/bin\/wirebot-failover.*pulumi up -s standby/);
        assert.match(JSON.stringify(said(0, "", "usage: ...")), /did not answer JSON/);
    });

    it("takes the SSH details from the stacks' outputs, the keys from their secret outputs", () => {
        const targets = sshTargets(
            { primaryHost: { value: { host: "203.0.113.10", port: 22, user: "root", hostKey: PRIMARY_HOST_KEY, arch: "amd64" }, secret: false }, primarySshKey: { value: FAKE_PRIVATE_KEY, secret: true } },
            { standbyAddress: { value: "198.51.100.7", secret: false }, standbyHost: { value: { port: 22, user: "root" }, secret: false }, standbyHostKey: { value: STANDBY_HOST_KEY, secret: false } },
        );
        assert.deepEqual(targets.primary, { role: "primary", address: "203.0.113.10", port: 22, user: "root", hostKey: PRIMARY_HOST_KEY, privateKey: FAKE_PRIVATE_KEY });
        assert.match((targets.standby as { missing: string }).missing, /pulumi up -s standby/);
    });
});
