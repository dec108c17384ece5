import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { FLIP_BUDGET_ENV, FLIP_SERVED_WITH_DEBT } from "../../agent/contract";
import { launcherCommand, revisionOf, stepStdin } from "../../src/host/remote-step";

// The host half of each step, run for real: the same stdin a host receives, in a
// private mount namespace whose /var/lib is a fresh tmpfs, so the step's
// bookkeeping never touches this machine.
const STATE = "/var/lib/wirebot-failover";

function sandbox(): string {
    return fs.mkdtempSync(path.join(os.tmpdir(), "wirebot-step-"));
}

/** A step's create or delete; one that may fail prints its status instead of ending the run; `shell` runs a command between steps. */
type StepAction = { stdin: string; action: "create" | "delete"; mayFail?: boolean } | { shell: string };

/** Runs create/delete actions of steps in one namespace; returns the combined output. */
function runSteps(actions: StepAction[], check = "", env: NodeJS.ProcessEnv = process.env): { status: number; output: string } {
    const scripts = actions.map((a, i) => {
        if ("shell" in a) return a.shell;
        const file = path.join(os.tmpdir(), `wirebot-step-${process.pid}-${i}.sh`);
        fs.writeFileSync(file, a.stdin);
        return `sh -s -- ${a.action} < ${file}${a.mayFail ? ' || echo "step failed: $?"' : ""}`;
    });
    const body = ["set -e", "mount -t tmpfs tmpfs /var/lib", ...scripts, check].join("\n");
    const result = spawnSync("unshare", ["--mount", "--propagation", "private", "sh", "-c", body], { encoding: "utf8", env });
    return { status: result.status ?? -1, output: result.stdout + result.stderr };
}

function fileStep(stepId: string, dest: string, content: string, mode = "0600") {
    return stepStdin(stepId, "install-file.sh", [], {
        DEST: dest,
        MODE: mode,
        OWNER: "root",
        GROUP: "root",
        CONTENT_B64: Buffer.from(content).toString("base64"),
    });
}

describe("host steps, run for real", () => {
    it("install a file atomically with its mode, and remove it on delete", () => {
        const dest = path.join(sandbox(), "etc/wirebot/heartbeat.token");
        const step = fileStep("standby-file-token", dest, "s3cret\n");
        const created = runSteps([{ stdin: step, action: "create" }], `stat -c '%a %U' ${dest}; cat ${dest}; cat ${STATE}/steps/standby-file-token`);
        assert.equal(created.status, 0, created.output);
        assert.match(created.output, /^600 root$/m);
        assert.match(created.output, /^s3cret$/m);
        assert.ok(!created.output.includes("s3cret\n" + "installed"), "the content is not echoed");
        const fresh = path.join(sandbox(), "heartbeat.token");
        const again = fileStep("standby-file-token", fresh, "s3cret\n");
        const deleted = runSteps([{ stdin: again, action: "create" }, { stdin: again, action: "delete" }], `test ! -e ${fresh} && echo gone; test ! -e ${STATE} && echo clean`);
        assert.equal(deleted.status, 0, deleted.output);
        assert.match(deleted.output, /^gone$/m);
        assert.match(deleted.output, /^clean$/m, "no bookkeeping left behind");
    });

    it("keep a file that existed before and put it back on delete", () => {
        const dest = path.join(sandbox(), "cloudflared.yml");
        fs.writeFileSync(dest, "operator's own\n");
        const step = fileStep("primary-file-cf", dest, "managed\n", "0644");
        const run = runSteps([{ stdin: step, action: "create" }, { stdin: step, action: "delete" }], `cat ${dest}; echo "files: $(ls ${path.dirname(dest)})"`);
        assert.equal(run.status, 0, run.output);
        assert.match(run.output, /^operator's own$/m);
        assert.match(run.output, /^files: cloudflared.yml$/m, "the kept copy went back in place");
    });

    it("make the old revision's delete a no-op once a new revision is in place", () => {
        const dest = path.join(sandbox(), "unit.service");
        const v1 = fileStep("primary-file-unit", dest, "v1\n", "0644");
        const v2 = fileStep("primary-file-unit", dest, "v2\n", "0644");
        const run = runSteps(
            [
                { stdin: v1, action: "create" },
                { stdin: v2, action: "create" },
                { stdin: v1, action: "delete" },
            ],
            `cat ${dest}`,
        );
        assert.equal(run.status, 0, run.output);
        assert.match(run.output, /superseded by a newer revision; nothing to undo/);
        assert.match(run.output, /^v2$/m);
    });

    it("keep a revision created again when the late delete of an old instance of it comes after (a failed update, then the config put back)", () => {
        const dest = path.join(sandbox(), "openclaw-gateway.service");
        const good = fileStep("primary-file-gateway", dest, "good\n", "0644");
        const bad = fileStep("primary-file-gateway", dest, "bad\n", "0644");
        const run = runSteps(
            [
                { stdin: good, action: "create" },
                { stdin: bad, action: "create" },
                { stdin: good, action: "create" },
                { stdin: good, action: "delete" },
                { stdin: bad, action: "delete" },
            ],
            `cat ${dest}`,
        );
        assert.equal(run.status, 0, run.output);
        assert.match(run.output, /another instance of this revision is in place; nothing to undo/);
        assert.match(run.output, /^good$/m, "the file the config asks for stays");
        const later = path.join(sandbox(), "openclaw-gateway.service");
        const [good2, bad2] = ["good\n", "bad\n"].map((c) => fileStep("primary-file-gateway", later, c, "0644"));
        const destroyed = runSteps(
            [
                { stdin: good2, action: "create" },
                { stdin: bad2, action: "create" },
                { stdin: good2, action: "create" },
                { stdin: good2, action: "delete" },
                { stdin: bad2, action: "delete" },
                { stdin: good2, action: "delete" },
            ],
            `test ! -e ${later} && echo gone`,
        );
        assert.match(destroyed.output, /^gone$/m, "the last instance's delete still undoes it");
    });

    it("are idempotent: the same create twice gives the same result", () => {
        const dest = path.join(sandbox(), "config.json");
        const step = fileStep("primary-file-config", dest, "{}\n", "0640");
        const run = runSteps([{ stdin: step, action: "create" }, { stdin: step, action: "create" }], `stat -c '%a' ${dest}; ls ${path.dirname(dest)} | wc -l`);
        assert.equal(run.status, 0, run.output);
        assert.match(run.output, /^640$/m);
        assert.match(run.output, /^1$/m, "no temporary or backup files left");
    });

    it("create directories, and on delete remove only those that are empty", () => {
        const root = sandbox();
        const step = stepStdin("primary-tenant-acme-prepare", "prepare-host.sh", [], {
            USERS: "",
            DIRECTORIES: `${root}/tenants/acme:root:0750 ${root}/clients/acme:root:0750`,
        });
        const run = runSteps(
            [{ stdin: step, action: "create" }],
            `stat -c '%a' ${root}/tenants/acme; echo data > ${root}/tenants/acme/events.db; sh -s -- delete < ${path.join(os.tmpdir(), `wirebot-step-${process.pid}-0.sh`)}; ls ${root}/tenants/acme; test ! -e ${root}/clients/acme && echo removed-empty`,
        );
        assert.equal(run.status, 0, run.output);
        assert.match(run.output, /^750$/m);
        assert.match(run.output, /kept .*tenants\/acme \(not empty\)/);
        assert.match(run.output, /^events.db$/m, "data is never deleted");
        assert.match(run.output, /^removed-empty$/m);
    });

    it("refuse a binary whose checksum does not match", () => {
        const dir = sandbox();
        fs.writeFileSync(path.join(dir, "litestream"), "not the pinned binary");
        const step = stepStdin("primary-binary-litestream", "install-binary.sh", [], {
            NAME: "litestream",
            ARCH: "amd64",
            SHA256: "0".repeat(64),
            SOURCE: path.join(dir, "litestream"),
        });
        const run = runSteps([{ stdin: step, action: "create" }]);
        assert.notEqual(run.status, 0);
        assert.match(run.output, /litestream: checksum mismatch .*expected 0000/);
    });

    it("refuse a binary for another architecture than the host's", () => {
        const step = stepStdin("standby-binary-cloudflared", "install-binary.sh", [], {
            NAME: "cloudflared",
            ARCH: os.arch() === "arm64" ? "amd64" : "arm64",
            SHA256: "0".repeat(64),
            SOURCE: "/dev/null",
        });
        const run = runSteps([{ stdin: step, action: "create" }]);
        assert.notEqual(run.status, 0);
        assert.match(run.output, /cloudflared: this host is \w+ but the binary is for \w+/);
    });
});

/** A host's serving step, with systemctl a stand-in that keeps unit states under `systemd` (test/unit/fakes/systemctl). */
function servingStep(inputs: Record<string, string>) {
    const systemd = sandbox();
    const env = { ...process.env, PATH: `${path.join(__dirname, "fakes")}:${process.env.PATH}`, FAKE_SYSTEMD_DIR: systemd };
    const stdin = stepStdin("standby-serving", "set-serving.sh", ["unit-revisions.sh"], {
        SERVING: "yes",
        SERVICES: "wirebot-scoreboard.service",
        CONNECTOR: "cloudflared-wirebot.service",
        UNIT_REVISIONS: "wirebot-scoreboard.service=aaa cloudflared-wirebot.service=bbb",
        BEFORE_SERVING: "",
        FLIP_COMMAND: "",
        FLIP_BUDGET_SECONDS: "",
        REFUSE_DELETE_WHILE_SERVING: "no",
        ...inputs,
    });
    const calls = () => (fs.existsSync(path.join(systemd, "calls")) ? fs.readFileSync(path.join(systemd, "calls"), "utf8").split("\n").filter(Boolean) : []);
    return { stdin, env, systemd, calls };
}

describe("a serving step, run for real", () => {
    it("runs the agent's flip with its budget in the environment, before any unit changes", () => {
        const flip = path.join(sandbox(), "wirebot-failover");
        fs.writeFileSync(flip, `#!/bin/sh\necho "flip $2 with ${FLIP_BUDGET_ENV}=$${FLIP_BUDGET_ENV}"; echo "flip $2" >> "$FAKE_SYSTEMD_DIR/calls"\n`, { mode: 0o755 });
        const step = servingStep({ SERVING: "no", FLIP_COMMAND: `${flip} flip`, FLIP_BUDGET_SECONDS: "225" });
        const run = runSteps([{ stdin: step.stdin, action: "create" }], "", step.env);
        assert.equal(run.status, 0, run.output);
        assert.match(run.output, new RegExp(`^flip stand-down with ${FLIP_BUDGET_ENV}=225$`, "m"));
        assert.deepEqual(step.calls().filter((c) => !c.startsWith("is-") && c !== "daemon-reload"), [
            "flip stand-down",
            "disable --now cloudflared-wirebot.service",
            "disable --now wirebot-scoreboard.service",
        ]);
    });
});

describe("a serving step whose flip leaves a debt", () => {
    function flipExiting(status: number): string {
        const flip = path.join(sandbox(), "wirebot-failover");
        fs.writeFileSync(flip, `#!/bin/sh\necho "flip $2" >> "$FAKE_SYSTEMD_DIR/calls"\necho "merged; but replication did not start again" >&2\nexit ${status}\n`, { mode: 0o755 });
        return `${flip} flip`;
    }
    const changes = (calls: string[]) => calls.filter((c) => !c.startsWith("is-") && !c.startsWith("show ") && !["daemon-reload", "reset-failed"].some((v) => c.startsWith(v)));

    it(`serves, then fails with the flip's message, when the flip exits ${FLIP_SERVED_WITH_DEBT} on serve`, () => {
        const step = servingStep({ FLIP_COMMAND: flipExiting(FLIP_SERVED_WITH_DEBT) });
        const run = runSteps([{ stdin: step.stdin, action: "create", mayFail: true }], "", step.env);
        assert.match(run.output, /^step failed: 1$/m);
        assert.match(run.output, /merged; but replication did not start again/);
        assert.match(run.output, /serving, but the flip left a debt \(above\); this run fails so that the next pulumi up pays it/);
        assert.doesNotMatch(run.output, /refused: the serving role is left as it was/);
        assert.deepEqual(changes(step.calls()), [
            "flip serve",
            "try-restart wirebot-scoreboard.service cloudflared-wirebot.service",
            "enable --quiet wirebot-scoreboard.service",
            "restart wirebot-scoreboard.service",
            "enable --quiet cloudflared-wirebot.service",
            "restart cloudflared-wirebot.service",
        ]);
    });

    it(`changes nothing when the flip fails otherwise, or exits ${FLIP_SERVED_WITH_DEBT} while standing down`, () => {
        for (const [serving, status] of [["yes", 1], ["no", FLIP_SERVED_WITH_DEBT]] as const) {
            const step = servingStep({ SERVING: serving, FLIP_COMMAND: flipExiting(status) });
            const run = runSteps([{ stdin: step.stdin, action: "create", mayFail: true }], "", step.env);
            assert.match(run.output, /^step failed: 1$/m);
            assert.match(run.output, /refused: the serving role is left as it was/);
            assert.deepEqual(changes(step.calls()), [`flip ${serving === "yes" ? "serve" : "stand-down"}`]);
        }
    });

    it("uses the agent's exit status for it", () => {
        const script = fs.readFileSync(path.join(__dirname, "../../host/scripts/set-serving.sh"), "utf8");
        assert.match(script, new RegExp(`^SERVED_WITH_DEBT=${FLIP_SERVED_WITH_DEBT}$`, "m"));
    });
});

describe("the standby's serving step, deleted by pulumi destroy -s standby", () => {
    const FAIL_BACK = /the standby serves \((.*)\): fail back first \(pulumi config set wirebot:activeSide primary on both stacks, pulumi up -s primary && pulumi up -s standby\), then destroy/;

    it("refuses while the standby serves, changing nothing, and goes through once it does not", () => {
        const step = servingStep({ SERVING: "no", REFUSE_DELETE_WHILE_SERVING: "yes" });
        const connector = path.join(step.systemd, "cloudflared-wirebot.service.active");
        const run = runSteps(
            [
                { stdin: step.stdin, action: "create" },
                // The watchdog took over since.
                { shell: `echo active > ${connector}; : > ${step.systemd}/calls` },
                { stdin: step.stdin, action: "delete", mayFail: true },
                { shell: `echo "after refusal: $(grep -cv '^is-active' ${step.systemd}/calls || true) change(s), marker $(test -e ${STATE}/steps/standby-serving && echo kept)"` },
                { shell: `echo inactive > ${connector}` },
                { stdin: step.stdin, action: "delete" },
            ],
            `test ! -e ${STATE}/steps/standby-serving && echo deleted`,
            step.env,
        );
        assert.equal(run.status, 0, run.output);
        assert.match(run.output, FAIL_BACK);
        assert.match(run.output, /\(cloudflared-wirebot\.service is running\)/);
        assert.match(run.output, /^step failed: 1$/m);
        assert.match(run.output, /^after refusal: 0 change\(s\), marker kept$/m);
        assert.match(run.output, /^restored the prior state/m);
        assert.match(run.output, /^deleted$/m);
    });

    it("refuses while the agent says the standby holds writes the primary has not merged", () => {
        const agent = path.join(sandbox(), "wirebot-failover");
        fs.writeFileSync(agent, `#!/bin/sh\necho "wirebot-failover: this standby's export 1234 is not merged into the primary yet" >&2; exit 1\n`, { mode: 0o755 });
        const step = servingStep({ SERVING: "no", REFUSE_DELETE_WHILE_SERVING: "yes", FLIP_COMMAND: `${agent} flip` });
        // The flip in the create is the stand-down the agent refuses too; the step is put in place by hand here.
        const run = runSteps([{ shell: `mkdir -p ${STATE}/steps && echo ${revisionOf(step.stdin)} > ${STATE}/steps/standby-serving` }, { stdin: step.stdin, action: "delete", mayFail: true }], "", step.env);
        assert.equal(run.status, 0, run.output);
        assert.match(run.output, FAIL_BACK);
        assert.match(run.output, /export 1234 is not merged into the primary yet/);
        assert.match(run.output, /^step failed: 1$/m);
    });

    it("does not stand in the way of a new revision replacing it while the standby serves", () => {
        const v1 = servingStep({ REFUSE_DELETE_WHILE_SERVING: "yes" });
        const v2 = servingStep({ REFUSE_DELETE_WHILE_SERVING: "yes", UNIT_REVISIONS: "wirebot-scoreboard.service=v2 cloudflared-wirebot.service=v2" });
        const env = { ...v1.env, FAKE_SYSTEMD_DIR: v1.systemd };
        const run = runSteps([{ stdin: v1.stdin, action: "create" }, { stdin: v2.stdin, action: "create" }, { stdin: v1.stdin, action: "delete" }], "", env);
        assert.equal(run.status, 0, run.output);
        assert.match(run.output, /superseded by a newer revision; nothing to undo/);
    });
});

describe("a unit's new files", () => {
    it("are marked as running only once the restart succeeded: a step that failed restarts the units again on its next run", () => {
        const step = servingStep({ UNIT_REVISIONS: "wirebot-scoreboard.service=v2 cloudflared-wirebot.service=v2" });
        for (const unit of ["wirebot-scoreboard.service", "cloudflared-wirebot.service"]) fs.writeFileSync(path.join(step.systemd, `${unit}.active`), "active\n");
        fs.writeFileSync(path.join(step.systemd, "fail-try-restart"), "Job for wirebot-scoreboard.service failed (timeout)\n");
        const run = runSteps(
            [
                { stdin: step.stdin, action: "create", mayFail: true },
                { shell: `rm ${step.systemd}/fail-try-restart; : > ${step.systemd}/calls` },
                { stdin: step.stdin, action: "create" },
                { shell: `echo "second: $(grep -c try-restart ${step.systemd}/calls)"; : > ${step.systemd}/calls` },
                { stdin: step.stdin, action: "create" },
            ],
            `echo "third: $(grep -c try-restart ${step.systemd}/calls || true)"`,
            step.env,
        );
        assert.equal(run.status, 0, run.output);
        assert.match(run.output, /^step failed: 1$/m);
        assert.match(run.output, /Job for wirebot-scoreboard\.service failed \(timeout\)/);
        assert.match(run.output, /^second: 1$/m, "the next run restarts the changed units");
        assert.match(run.output, /^third: 0$/m, "once they run with their files, a run changes nothing");
    });
});

describe("the step launcher", () => {
    it("stops a step that runs over its time limit and names the step and the host", () => {
        const command = launcherCommand({ user: "root", seconds: 1, stepId: "standby-serving", action: "create", host: "standby (10.77.0.11)" });
        const started = Date.now();
        const result = spawnSync("sh", ["-c", command], { input: "sleep 30\n", encoding: "utf8" });
        assert.equal(result.status, 124);
        assert.ok(Date.now() - started < 10_000);
        assert.match(result.stderr, /wirebot-failover: step standby-serving \(create\) timed out after 1s on host standby \(10\.77\.0\.11\)/);
    });

    it("passes a failing step's stderr and exit code through", () => {
        const command = launcherCommand({ user: "root", seconds: 30, stepId: "primary-prepare", action: "create", host: "primary (203.0.113.10)" });
        const result = spawnSync("sh", ["-c", command], { input: "echo 'useradd: cannot lock /etc/passwd' >&2; exit 1\n", encoding: "utf8" });
        assert.equal(result.status, 1);
        assert.equal(result.stderr.trim(), "useradd: cannot lock /etc/passwd");
    });
});
