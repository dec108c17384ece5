import { strict as assert } from "node:assert";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { LocalWorkspace } from "@pulumi/pulumi/automation";
import { automationProject } from "../../src/cli/automation";
import { runFlip } from "../../src/cli/flip";
import { Progress } from "../../src/cli/progress";
import { EXIT } from "../../src/cli/io";
import { acquireLock } from "../../src/cli/operator-lock";
import { bufferIo } from "../unit/ops-fakes";

// The Automation API adapter for real (npm run test:automation; it runs the
// Pulumi engine, so it stays out of the unit suite's time budget): the Pulumi
// CLI (from `bash lab/tools.sh path`), a file backend and a passphrase in a
// temporary directory, and a
// project whose program only names a component after the active side, so a
// flip changes something without any host. It proves that the commands set
// the config as `pulumi config get` reads it, that a later plain up has nothing
// to do, that a preview with another side (what --dry-run runs) leaves the
// config file as it was, and that a command meeting another update's lock is
// refused with the lock's holder.

const REPO = path.resolve(__dirname, "../..");
const hasPulumi = spawnSync("pulumi", ["version"], { encoding: "utf8" }).status === 0;

const PROGRAM = `const pulumi = require("@pulumi/pulumi");
const side = new pulumi.Config("wirebot").get("activeSide") ?? "primary";
new pulumi.ComponentResource("wirebot:test:Serving", side + "-serving");
// An update that stays open (holding the stack's lock) while the file named here exists.
const hold = process.env.WIREBOT_OPS_TEST_HOLD_FILE;
const held = () => new Promise((resolve) => (function wait() { require("fs").existsSync(hold) ? setTimeout(wait, 50) : resolve(); })());
module.exports = (hold ? held() : Promise.resolve()).then(() => ({ activeSide: side, nextCommand: "test: the " + side + " serves" }));
`;

describe("wirebot-ops over the Automation API, on a file backend", { skip: hasPulumi ? false : "the pulumi CLI is not on PATH (bash lab/tools.sh path)", timeout: 120_000 }, () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "wirebot-ops-automation-"));
    const dir = path.join(root, "project");
    const envVars = {
        PULUMI_HOME: path.join(root, "home"),
        PULUMI_BACKEND_URL: `file://${path.join(root, "backend")}`,
        PULUMI_CONFIG_PASSPHRASE: "wirebot-ops-test",
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    };
    const project = () => automationProject({ dir, stackNames: { primary: "primary", standby: "standby" }, envVars });
    const pulumi = (...args: string[]) => execFileSync("pulumi", [...args, "--non-interactive"], { cwd: dir, env: { ...process.env, ...envVars }, encoding: "utf8" }).trim();

    before(async () => {
        fs.mkdirSync(dir, { recursive: true });
        fs.mkdirSync(path.join(root, "backend"));
        // A JavaScript program: the runtime loads no TypeScript compiler for it.
        fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: wirebot-ops-test\nruntime:\n  name: nodejs\n  options:\n    typescript: false\nmain: index.js\n");
        fs.writeFileSync(path.join(dir, "package.json"), '{ "name": "wirebot-ops-test", "private": true }\n');
        fs.writeFileSync(path.join(dir, "index.js"), PROGRAM);
        fs.symlinkSync(path.join(REPO, "node_modules"), path.join(dir, "node_modules"));
        for (const stackName of ["primary", "standby"]) await LocalWorkspace.createStack({ stackName, workDir: dir }, { envVars });
    });

    after(() => fs.rmSync(root, { recursive: true, force: true }));

    it("an emergency failover sets wirebot:activeSide on both stacks as pulumi config get reads it and brings up the standby stack alone", async () => {
        const io = bufferIo();
        assert.equal(await runFlip("failover", { project: project(), io, dryRun: false, lock: acquireLock }), EXIT.ok, io.text());
        assert.equal(pulumi("config", "get", "-s", "primary", "wirebot:activeSide"), "standby");
        assert.match(io.text(), /pulumi up -s standby\n {2}✓ standby-serving {10}create/);
        assert.ok(!io.text().includes("pulumi up -s primary"));
        assert.match(io.text(), /active side: standby\. Total \d+\.\d s\./);
    });

    it("refuses a switchover while another update holds the primary stack, naming it; meanwhile a preview with another side changes no config, and one with the same side finds nothing to do", async () => {
        // Another update on the primary stack, held open until the test lets it go.
        const holdFile = path.join(root, "hold");
        fs.writeFileSync(holdFile, "");
        const holder = await LocalWorkspace.selectStack({ stackName: "primary", workDir: dir }, { envVars: { ...envVars, WIREBOT_OPS_TEST_HOLD_FILE: holdFile } });
        const held = holder.up();
        const locks = path.join(root, "backend", ".pulumi", "locks");
        const deadline = Date.now() + 30_000;
        while (!fs.existsSync(locks) || !fs.readdirSync(locks, { recursive: true }).some((f) => String(f).endsWith(".json"))) {
            assert.ok(Date.now() < deadline, "the other update took no lock");
            await new Promise((r) => setTimeout(r, 100));
        }
        const configBefore = fs.readFileSync(path.join(dir, "Pulumi.primary.yaml"), "utf8");
        const refused = bufferIo();
        const other = new Progress(() => undefined, true);
        const same = new Progress(() => undefined, true);
        const ops = project();
        const [refusedCode] = await Promise.all([
            runFlip("switchover", { project: ops, io: refused, dryRun: false, lock: acquireLock }).finally(() => fs.rmSync(holdFile)),
            (await ops.stack("primary")).preview((e) => other.onEvent(e, Date.now()), { "wirebot:activeSide": "primary" }),
            (await ops.stack("standby")).preview((e) => same.onEvent(e, Date.now()), { "wirebot:activeSide": "standby" }),
        ]);
        await held;

        assert.equal(refusedCode, EXIT.locked, refused.text());
        assert.match(refused.errors.join("\n"), new RegExp(`stack primary is locked: another update \\(\\S+@${os.hostname()}, process \\d+, since \\S+\\) is running on it`));
        assert.match(refused.errors.join("\n"), /Nothing was changed\./);

        // Without the side it was given, the primary stack's config (standby) would name standby-serving.
        const planned = other.steps.map((s) => `${s.resource} ${s.op}`);
        assert.ok(planned.includes("primary-serving create") && !planned.includes("standby-serving create"), planned.join(", "));
        assert.equal(fs.readFileSync(path.join(dir, "Pulumi.primary.yaml"), "utf8"), configBefore, "the stack's config file was not written");
        assert.equal(pulumi("config", "get", "-s", "primary", "wirebot:activeSide"), "standby");
        assert.deepEqual(same.counts().changed, 0, "a plain up of the standby stack has nothing to do");
    });
});
