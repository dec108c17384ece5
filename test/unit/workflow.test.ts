import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";

const WORKFLOW = path.join(__dirname, "..", "..", ".github", "workflows", "pulumi.yml");

describe("CI workflow", () => {
    it("passes actionlint", () => {
        const result = spawnSync("actionlint", ["-no-color", WORKFLOW], { encoding: "utf8" });
        assert.equal(result.error, undefined, "actionlint is not on PATH: run `bash test/lab/tools.sh install actionlint` and add `bash test/lab/tools.sh path` to PATH");
        assert.equal(result.status, 0, result.stdout + result.stderr);
    });

    it("previews every stack on pull requests and comments the diff", () => {
        const text = fs.readFileSync(WORKFLOW, "utf8");
        const preview = text.slice(text.indexOf("  preview:"), text.indexOf("  up:"));
        assert.match(preview, /if: github.event_name == 'pull_request'/);
        assert.match(preview, /stack: \[primary, standby, tenant-acme\]/);
        assert.match(preview, /command: preview/);
        assert.match(preview, /comment-on-pr: true/);
        assert.match(preview, /pull-requests: write/);
    });

    it("runs up only on manual dispatch, one stack at a time", () => {
        const text = fs.readFileSync(WORKFLOW, "utf8");
        const up = text.slice(text.indexOf("  up:"));
        assert.match(up, /if: github.event_name == 'workflow_dispatch'/);
        assert.match(up, /command: up/);
        assert.match(up, /group: pulumi-up-\$\{\{ inputs.stack \}\}/);
        assert.equal((text.match(/command: up/g) ?? []).length, 1);
    });
});
