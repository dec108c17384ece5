import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { runFlip } from "../../src/cli/flip";
import { EXIT } from "../../src/cli/io";
import { acquireLock, LOCK_FILE, OperatorLocked } from "../../src/cli/operator-lock";
import { ACTIVE_SIDE_KEY } from "../../src/cli/stacks";
import { bufferIo, fakeProject } from "./ops-fakes";

// The flip commands against stand-in stacks: what they set, what they bring
// up in which order, what they say, and what they leave when the hosts refuse,
// a step fails, or a lock is held.

const OUTPUTS = {
    primary: { primaryHost: { value: { host: "203.0.113.10", port: 22, user: "root", hostKey: "ssh-ed25519 AAAA" }, secret: false } },
    standby: {
        standbyAddress: { value: "198.51.100.7", secret: false },
        nextCommand: { value: "the standby serves. To fail back: ...", secret: false },
    },
};

function setup(states: { primary: [string, string?]; standby: [string, string?] }) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wirebot-ops-flip-"));
    const f = fakeProject(dir, {
        primary: { config: states.primary[0] as never, applied: states.primary[1] as never, outputs: OUTPUTS.primary },
        standby: { config: states.standby[0] as never, applied: states.standby[1] as never, outputs: OUTPUTS.standby },
    });
    return { ...f, io: bufferIo(), dir };
}

const options = (s: ReturnType<typeof setup>, dryRun = false) => ({ project: s.project, io: s.io, dryRun, lock: acquireLock });

describe("wirebot-ops switchover, failback, failover, acknowledge", () => {
    it("switchover sets the config on both stacks, runs the primary stack then the standby stack, and ends with the active side and the time", async () => {
        const s = setup({ primary: ["primary", "primary"], standby: ["primary", "primary"] });
        s.stacks.primary.ups.push({ kind: "ok", lines: ["wirebot-failover: switchover: writes stopped and shipped (...), the standby's replicas matched in 412 ms, it serves"] });
        s.stacks.standby.ups.push({ kind: "ok", lines: ["wirebot-failover: the standby already serves"] });
        assert.equal(await runFlip("switchover", options(s)), EXIT.ok);
        assert.deepEqual(s.log, [`set primary ${ACTIVE_SIDE_KEY}=standby`, `set standby ${ACTIVE_SIDE_KEY}=standby`, "up primary", "up standby"]);
        const text = s.io.text();
        assert.match(text, /switchover: make the standby the active side/);
        assert.match(text, /1\. pulumi up -s primary: the primary stops its writes/);
        assert.match(text, / {2}✓ primary-serving {10}replace {4}\d+\.\d s\n {6}wirebot-failover: switchover: writes stopped/);
        assert.match(text, /stack primary: 1 changed, 30 unchanged, \d+\.\d s/);
        assert.match(text, /active side: standby\. Total \d+\.\d s\./);
        assert.match(text, /next \(standby stack\): the standby serves/);
        assert.equal(fs.existsSync(path.join(s.dir, LOCK_FILE)), false, "the operator lock is released");
    });

    it("finishes a switchover whose standby stack failed: no config change, only the standby stack", async () => {
        const s = setup({ primary: ["standby", "standby"], standby: ["standby", "primary"] });
        assert.equal(await runFlip("switchover", options(s)), EXIT.ok);
        assert.deepEqual(s.log, ["up standby"]);
        assert.match(s.io.text(), /resuming: the primary stack's last update already applied standby; running what is left/);
    });

    it("a refusal on the first up: the hosts' reason, nothing changed, the config put back", async () => {
        const s = setup({ primary: ["primary", "primary"], standby: ["primary", "primary"] });
        s.stacks.primary.ups.push({ kind: "refused", reason: "the standby cannot be asked (fetch failed (ECONNREFUSED)); stopping the primary now would leave nobody serving. Bring the standby's agent back, then run pulumi up -s primary again" });
        assert.equal(await runFlip("switchover", options(s)), EXIT.refused);
        assert.deepEqual(s.log, [`set primary ${ACTIVE_SIDE_KEY}=standby`, `set standby ${ACTIVE_SIDE_KEY}=standby`, "up primary", `set primary ${ACTIVE_SIDE_KEY}=primary`, `set standby ${ACTIVE_SIDE_KEY}=primary`]);
        const errors = s.io.errors.join("\n");
        assert.match(errors, /^Refused by the primary host \(203\.0\.113\.10\), in pulumi up -s primary:\n {2}wirebot-failover: the standby cannot be asked/);
        assert.match(errors, /Nothing changed: the hosts are as they were\. The config is as it was: wirebot:activeSide primary on stack primary, wirebot:activeSide primary on stack standby\./);
        assert.match(errors, /What to do:\n {2}Bring the standby's agent back, then run wirebot-ops switchover again\./);
        assert.equal(s.stacks.primary.config[ACTIVE_SIDE_KEY], "primary");
    });

    it("a failback refused without the standby: nothing changed, and the way out in wirebot-ops terms (forget-standby, override-serve on the primary)", async () => {
        const s = setup({ primary: ["standby", "standby"], standby: ["standby", "standby"] });
        s.stacks.primary.ups.push({
            kind: "refused",
            reason:
                "the standby cannot be asked (fetch failed (EHOSTUNREACH)), and the witness cannot tell who serves (HTTP 502); not starting: if you know that the standby does not serve, allow this host deliberately: run wirebot-failover override-serve on it (valid 15 minutes), then start again (systemctl start the unit, or pulumi up -s primary). " +
                "Besides, the standby may have served, and the primary would serve without what it wrote. Bring the standby's agent back, then run pulumi up -s primary again. " +
                "If the standby is lost for good, and its writes with it: run wirebot-failover forget-standby on the primary, then pulumi up -s primary",
        });
        assert.equal(await runFlip("failback", options(s)), EXIT.refused);
        assert.equal(s.stacks.primary.config[ACTIVE_SIDE_KEY], "standby", "the config is put back");
        const errors = s.io.errors.join("\n");
        assert.match(errors, /Nothing changed: the hosts are as they were\./);
        assert.match(errors, /What to do:\n {2}Bring the standby's agent back, then run wirebot-ops failback again\./);
        assert.match(errors, /\n {2}If the standby is lost for good, and its writes with it: run wirebot-failover forget-standby on the primary, then wirebot-ops failback again/);
        assert.match(errors, /\n {2}If you know that the standby does not serve: run wirebot-failover override-serve on the primary \(valid 15 minutes\), then wirebot-ops failback again\./);
    });

    it("a failback whose flip served with a debt: the primary serves, the command fails, the config stays, and running it again finishes it", async () => {
        const s = setup({ primary: ["standby", "standby"], standby: ["standby", "standby"] });
        s.stacks.primary.ups.push({
            kind: "debt",
            reason:
                "failback: merged events 12 new, 0 already there; files: none; but replication did not start again: Job for wirebot-litestream.service failed. " +
                "This host serves without a replica on the standby until it does: fix the cause (journalctl -u wirebot-litestream), then run pulumi up -s primary again, which replicates afresh",
        });
        assert.equal(await runFlip("failback", options(s)), EXIT.failed);
        assert.deepEqual(s.log, [`set primary ${ACTIVE_SIDE_KEY}=primary`, `set standby ${ACTIVE_SIDE_KEY}=primary`, "up primary"], "the config is not put back; the standby stack waits");
        const errors = s.io.errors.join("\n");
        assert.match(errors, /^pulumi up -s primary failed on the primary host \(203\.0\.113\.10\), but the primary serves: its flip is done and left a debt:\n {2}wirebot-failover: failback: merged .* but replication did not start again: Job for wirebot-litestream\.service failed\./);
        assert.match(errors, /The primary serves \(the services and the connector run\); the command failed because what the flip owes is not done yet/);
        assert.match(errors, /The config says primary on both stacks \(set by this run\); leave it so\. Once the cause is fixed, run wirebot-ops failback again: it finishes the flip and runs what is left\./);
        assert.ok(!errors.includes("Refused"), errors);
        assert.ok(!errors.includes("To leave the config as it was"), "no way back is offered to a side that serves");
        assert.equal(s.stacks.primary.config[ACTIVE_SIDE_KEY], "primary");

        s.log.length = 0;
        s.stacks.primary.ups.push({ kind: "ok", lines: ["wirebot-failover: the primary already serves; 2 database(s) replicate afresh"] });
        assert.equal(await runFlip("failback", options(s)), EXIT.ok);
        assert.deepEqual(s.log, ["up primary", "up standby"], "the re-run pays the debt on the primary stack, then runs the standby stack");
        assert.match(s.io.text(), /wirebot-failover: the primary already serves; 2 database\(s\) replicate afresh/);
    });

    it("an emergency failover refused while the primary lives: the standby stack alone, its reason, the config put back", async () => {
        const s = setup({ primary: ["primary", "primary"], standby: ["primary", "primary"] });
        s.stacks.standby.ups.push({ kind: "refused", reason: "the primary is alive (last heartbeat 3 s ago): a switchover is run from the primary" });
        assert.equal(await runFlip("failover", options(s)), EXIT.refused);
        assert.ok(!s.log.includes("up primary"));
        assert.match(s.io.errors.join("\n"), /Refused by the standby host \(198\.51\.100\.7\)[\s\S]*the primary is alive[\s\S]*Nothing changed[\s\S]*What to do:\n {2}The primary is up: .*wirebot-ops switchover\./);
        assert.equal(s.stacks.standby.config[ACTIVE_SIDE_KEY], "primary");
    });

    it("a failback straight after an emergency failover runs only the standby stack, which refuses: acknowledge first", async () => {
        const s = setup({ primary: ["standby", "primary"], standby: ["standby", "standby"] });
        s.stacks.standby.ups.push({
            kind: "refused",
            reason: "this standby still takes writes and the primary has not taken them. Fail back with pulumi up -s primary (it stops this standby, merges its writes by event id and serves), then pulumi up -s standby; the order is: pulumi up -s primary, then pulumi up -s standby (in an emergency, pulumi up -s standby alone).",
        });
        assert.equal(await runFlip("failback", options(s)), EXIT.refused);
        assert.ok(!s.log.includes("up primary"));
        assert.equal(s.stacks.primary.config[ACTIVE_SIDE_KEY], "standby", "the config is put back");
        assert.match(s.io.errors.join("\n"), /What to do:\n {2}The primary stack did not run: its last update already applied primary .* Once the primary is back: wirebot-ops acknowledge, then wirebot-ops failback\./);
    });

    it("a refusal on the second up says what was done and leaves the config for a re-run", async () => {
        const s = setup({ primary: ["standby", "standby"], standby: ["standby", "standby"] });
        s.stacks.standby.ups.push({ kind: "refused", reason: "this standby's export h1 of 2026-11-27T09:00:00.000Z is not merged into the primary yet: run pulumi up -s primary (it merges it), then pulumi up -s standby" });
        assert.equal(await runFlip("failback", options(s)), EXIT.refused);
        assert.deepEqual(s.log, [`set primary ${ACTIVE_SIDE_KEY}=primary`, `set standby ${ACTIVE_SIDE_KEY}=primary`, "up primary", "up standby"]);
        assert.match(s.io.errors.join("\n"), /The steps above were done; this one changed nothing\. The config says primary; .* run wirebot-ops failback again: it runs only what is left/);
        assert.equal(s.stacks.standby.config[ACTIVE_SIDE_KEY], "primary");
    });

    it("a failed step names the stack, the host and what to do, keeps the config, and a re-run finishes", async () => {
        const s = setup({ primary: ["primary", "primary"], standby: ["primary", "primary"] });
        s.stacks.standby.ups.push({ kind: "failed", error: "dial tcp 198.51.100.7:22: connect: no route to host" });
        assert.equal(await runFlip("switchover", options(s)), EXIT.failed);
        const errors = s.io.errors.join("\n");
        assert.match(errors, /pulumi up -s standby failed at step standby-serving on the standby host \(198\.51\.100\.7\):/);
        assert.match(errors, /the standby host \(198\.51\.100\.7\) cannot be reached over SSH/);
        assert.match(errors, /The config says standby on both stacks \(set by this run\)\. Once the cause is fixed, run wirebot-ops switchover again/);
        s.log.length = 0;
        assert.equal(await runFlip("switchover", options(s)), EXIT.ok);
        assert.deepEqual(s.log, ["up standby"], "the primary stack had applied standby");
    });

    it("a locked stack: who holds it, nothing changed, the config put back", async () => {
        const s = setup({ primary: ["primary", "primary"], standby: ["primary", "primary"] });
        s.stacks.primary.ups.push({ kind: "locked", holder: "another update (root@ops1, process 4242, since 2026-11-27T05:05:36Z)" });
        assert.equal(await runFlip("switchover", options(s)), EXIT.locked);
        const errors = s.io.errors.join("\n");
        assert.match(errors, /stack primary is locked: another update \(root@ops1, process 4242, since 2026-11-27T05:05:36Z\) is running on it/);
        assert.match(errors, /Nothing was changed\./);
        assert.equal(s.stacks.primary.config[ACTIVE_SIDE_KEY], "primary");
        assert.equal(s.stacks.standby.config[ACTIVE_SIDE_KEY], "primary");
    });

    it("a second command while one runs in the project is refused, naming it", async () => {
        const s = setup({ primary: ["primary", "primary"], standby: ["primary", "primary"] });
        const release = acquireLock(s.dir, "failback");
        try {
            await assert.rejects(runFlip("switchover", options(s)), (err: unknown) => {
                assert.ok(err instanceof OperatorLocked);
                assert.equal(err.holder.command, "failback");
                assert.equal(err.holder.pid, process.pid);
                return true;
            });
            assert.deepEqual(s.log, [], "nothing was read or set");
        } finally {
            release();
        }
    });

    it("a lock left by a process that is gone is cleared", async () => {
        const s = setup({ primary: ["primary", "primary"], standby: ["primary", "primary"] });
        fs.writeFileSync(path.join(s.dir, LOCK_FILE), JSON.stringify({ command: "switchover", pid: 2 ** 22 + 12345, user: "root", host: os.hostname(), startedAt: "2026-11-27T00:00:00Z" }));
        assert.equal(await runFlip("switchover", options(s)), EXIT.ok);
    });

    it("nothing to do: says so, changes nothing", async () => {
        const s = setup({ primary: ["primary", "primary"], standby: ["primary", "primary"] });
        assert.equal(await runFlip("failback", options(s)), EXIT.ok);
        assert.deepEqual(s.log, []);
        assert.match(s.io.text(), /nothing to do: the stacks say primary and their last updates applied it/);
    });
});

describe("--dry-run", () => {
    it("previews each stack in order with the new side and changes no config", async () => {
        const s = setup({ primary: ["primary", "primary"], standby: ["primary", "primary"] });
        assert.equal(await runFlip("switchover", options(s, true)), EXIT.ok);
        assert.deepEqual(s.log, [`preview primary ${ACTIVE_SIDE_KEY}=standby`, `preview standby ${ACTIVE_SIDE_KEY}=standby`]);
        const text = s.io.text();
        assert.match(text, /pulumi preview -s primary with wirebot:activeSide=standby/);
        assert.match(text, / {2}~ primary-serving {10}would replace\n {2}1 to change, 2 unchanged/);
        assert.match(text, /Dry run: nothing was changed, neither the stacks' config nor the hosts/);
        assert.equal(s.stacks.primary.config[ACTIVE_SIDE_KEY], "primary");
    });

    it("runs beside a command in progress, saying so", async () => {
        const s = setup({ primary: ["standby", "standby"], standby: ["standby", "standby"] });
        const release = acquireLock(s.dir, "switchover");
        try {
            assert.equal(await runFlip("failback", options(s, true)), EXIT.ok);
        } finally {
            release();
        }
        assert.match(s.io.text(), /note: wirebot-ops switchover by .* is running now/);
    });
});
