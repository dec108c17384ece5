import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { COMMANDS, main, projectDir } from "../../src/cli/main";
import { bufferIo } from "./ops-fakes";

// The command line itself: usage, each command's --help, bad flags, where the
// project is, and the launcher npx runs.

const REPO = path.resolve(__dirname, "../..");

describe("wirebot-ops command line", () => {
    it("lists its commands, and without one exits 2", async () => {
        const io = bufferIo();
        assert.equal(await main([], io), 2);
        for (const c of ["status", "switchover", "failover", "failback", "acknowledge"]) assert.match(io.lines.join("\n"), new RegExp(`^  ${c} `, "m"));
        assert.equal(await main(["--help"], bufferIo()), 0);
    });

    it("has --help for each command, with its flags and exit codes", async () => {
        for (const command of COMMANDS) {
            const io = bufferIo();
            assert.equal(await main([command.name, "--help"], io), 0, command.name);
            const text = io.lines.join("\n");
            assert.match(text, new RegExp(`^usage: wirebot-ops ${command.name}`), command.name);
            assert.match(text, /exit codes:/, command.name);
            assert.match(text, /--project-dir/, command.name);
            if (command.name !== "status") assert.match(text, /--dry-run/, command.name);
        }
    });

    it("refuses an unknown command or flag with exit 2", async () => {
        const io = bufferIo();
        assert.equal(await main(["promote"], io), 2);
        assert.match(io.errors.join("\n"), /unknown command promote/);
        const flags = bufferIo();
        assert.equal(await main(["switchover", "--force"], flags), 2);
        assert.match(flags.errors.join("\n"), /Unknown option '--force'/);
        const lag = bufferIo();
        assert.equal(await main(["status", "--max-lag", "soon", "--project-dir", REPO], lag), 2);
        assert.match(lag.errors.join("\n"), /--max-lag takes a number of seconds/);
    });

    it("finds the project from a directory below it, or is told where it is", () => {
        assert.equal(projectDir(undefined, path.join(REPO, "src", "cli")), REPO);
        assert.equal(projectDir("..", path.join(REPO, "src")), REPO);
        const empty = fs.mkdtempSync(path.join(os.tmpdir(), "wirebot-ops-noproject-"));
        assert.throws(() => projectDir(undefined, empty), /no Pulumi\.yaml in .* or above/);
        assert.throws(() => projectDir(empty), /--project-dir names the Pulumi project's directory/);
    });

    it("is a bin of this package whose launcher runs on the project's Node", () => {
        const pkg = JSON.parse(fs.readFileSync(path.join(REPO, "package.json"), "utf8")) as { bin: Record<string, string> };
        assert.equal(pkg.bin["wirebot-ops"], "src/cli/wirebot-ops");
        const launcher = path.join(REPO, pkg.bin["wirebot-ops"]);
        assert.ok(fs.statSync(launcher).mode & 0o111, "executable");
        // From another directory, through a symbolic link, as npx links it.
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wirebot-ops-bin-"));
        fs.symlinkSync(launcher, path.join(dir, "wirebot-ops"));
        const r = spawnSync(path.join(dir, "wirebot-ops"), ["--help"], { cwd: dir, encoding: "utf8", env: { ...process.env, PATH: "/usr/bin:/bin" } });
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stdout, /^usage: wirebot-ops <command>/);
    });
});
