import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";

const ROOT = path.join(__dirname, "..", "..");
const WORKFLOW = path.join(ROOT, ".github", "workflows", "pulumi.yml");
const STACKS = ["primary", "standby", "tenant-acme"];

interface LintError {
    message: string;
    line: number;
    column: number;
    kind: string;
}

function actionlint(file: string): { status: number | null; errors: LintError[] } {
    const result = spawnSync("actionlint", ["-no-color", "-format", "{{json .}}", file], { encoding: "utf8" });
    if (result.error) {
        assert.fail(
            `actionlint could not run (${result.error.message}). Build it with \`bash lab/tools.sh install\` ` +
                "and put `bash lab/tools.sh path` on PATH (npm run test:unit does).",
        );
    }
    try {
        return { status: result.status, errors: JSON.parse(result.stdout) as LintError[] };
    } catch {
        return assert.fail(`actionlint printed something other than JSON (exit ${result.status}):\n${result.stdout}${result.stderr}`);
    }
}

// No YAML parser is available, and actionlint only reports problems, not the
// document. The workflow is plain block YAML, so indentation is enough to find
// a key's inline value and the lines nested under it.
interface YamlNode {
    value: string;
    body: string[];
}

const indentOf = (line: string) => line.length - line.trimStart().length;

function node(source: string | YamlNode, ...keys: string[]): YamlNode {
    let lines = typeof source === "string" ? source.split("\n").filter((l) => l.trim() !== "" && !l.trimStart().startsWith("#")) : source.body;
    let value = typeof source === "string" ? "" : source.value;
    for (const key of keys) {
        const indent = Math.min(...lines.map(indentOf));
        const start = lines.findIndex((l) => indentOf(l) === indent && l.trimStart().startsWith(`${key}:`));
        assert.notEqual(start, -1, `the workflow has no "${keys.join(".")}"`);
        const end = lines.findIndex((l, i) => i > start && indentOf(l) <= indent);
        value = lines[start].trimStart().slice(key.length + 1).trim();
        lines = lines.slice(start + 1, end === -1 ? lines.length : end);
    }
    return { value, body: lines };
}

function keysOf(n: YamlNode): string[] {
    const indent = Math.min(...n.body.map(indentOf));
    return n.body.filter((l) => indentOf(l) === indent).map((l) => l.trim().split(":")[0]);
}

/** Each `- ` item of a block sequence, as a mapping node of its own. */
function items(n: YamlNode): YamlNode[] {
    const indent = Math.min(...n.body.map(indentOf));
    const result: string[][] = [];
    for (const line of n.body) {
        if (indentOf(line) === indent && line.trimStart().startsWith("- ")) result.push([line.replace("- ", "  ")]);
        else result.at(-1)?.push(line);
    }
    return result.map((body) => ({ value: "", body }));
}

function flowList(value: string): string[] {
    assert.match(value, /^\[.*\]$/, `expected a [flow, list], got ${value}`);
    return value.slice(1, -1).split(",").map((s) => s.trim());
}

function has(n: YamlNode, key: string): boolean {
    return n.body.length > 0 && keysOf(n).includes(key);
}

function pulumiStep(job: YamlNode): YamlNode {
    const steps = items(node(job, "steps"));
    const pulumi = steps.filter((s) => has(s, "uses") && node(s, "uses").value.startsWith("pulumi/actions@"));
    assert.equal(pulumi.length, 1, "one pulumi/actions step per job");
    assert.equal(node(pulumi[0], "uses").value, "pulumi/actions@v6");
    const install = steps.findIndex((s) => has(s, "run") && node(s, "run").value === "npm ci");
    assert.ok(install !== -1 && install < steps.indexOf(pulumi[0]), "npm ci runs before Pulumi");
    const setupNode = steps.find((s) => has(s, "uses") && node(s, "uses").value.startsWith("actions/setup-node@"));
    assert.ok(setupNode, "Node is set up");
    assert.equal(node(setupNode, "with", "node-version").value, "24");
    return pulumi[0];
}

function assertCredentials(step: YamlNode) {
    const env = node(step, "env");
    for (const name of ["PULUMI_ACCESS_TOKEN", "PULUMI_CONFIG_PASSPHRASE", "HCLOUD_TOKEN", "CLOUDFLARE_API_TOKEN"]) {
        assert.equal(node(env, name).value, `\${{ secrets.${name} }}`);
    }
    assert.equal(node(step, "with", "cloud-url").value, "${{ secrets.PULUMI_BACKEND_URL }}");
}

describe("CI workflow", () => {
    const text = fs.readFileSync(WORKFLOW, "utf8");

    it("passes actionlint", () => {
        const { status, errors } = actionlint(WORKFLOW);
        assert.deepEqual(
            errors.map((e) => `${e.line}:${e.column} [${e.kind}] ${e.message}`),
            [],
        );
        assert.equal(status, 0);
    });

    it("is linted against pulumi/actions' real inputs", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wirebot-workflow-"));
        try {
            const broken = path.join(dir, "pulumi.yml");
            fs.writeFileSync(broken, text.replace("comment-on-pr: true", "comment-on-pull-request: true"));
            const { errors } = actionlint(broken);
            assert.ok(
                errors.some((e) => e.kind === "action" && e.message.includes('"comment-on-pull-request" is not defined')),
                `actionlint missed a misspelled input: ${JSON.stringify(errors)}`,
            );
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("runs on pull requests and manual dispatch only, with a choice of stack", () => {
        assert.deepEqual(keysOf(node(text, "on")), ["pull_request", "workflow_dispatch"]);
        const stack = node(text, "on", "workflow_dispatch", "inputs", "stack");
        assert.equal(node(stack, "type").value, "choice");
        assert.equal(node(stack, "required").value, "true");
        assert.deepEqual(flowList(node(stack, "options").value), STACKS);
        for (const name of STACKS) assert.ok(fs.existsSync(path.join(ROOT, `Pulumi.${name}.yaml`)), `Pulumi.${name}.yaml exists`);
    });

    it("grants read access, and pull-request write to the preview job only", () => {
        assert.deepEqual(node(text, "permissions").body.map((l) => l.trim()), ["contents: read"]);
        assert.deepEqual(node(text, "jobs", "preview", "permissions").body.map((l) => l.trim()), ["contents: read", "pull-requests: write"]);
        assert.equal((text.match(/:\s*write\b/g) ?? []).length, 1, "no other write permission");
        assert.ok(!has(node(text, "jobs", "up"), "permissions"), "up inherits read-only permissions");
    });

    it("previews every stack on pull requests and comments the diff", () => {
        assert.deepEqual(keysOf(node(text, "jobs")), ["preview", "up"]);
        const preview = node(text, "jobs", "preview");
        assert.match(node(preview, "if").value, /^github\.event_name == 'pull_request' && /);
        assert.deepEqual(flowList(node(preview, "strategy", "matrix", "stack").value), STACKS);
        const step = pulumiStep(preview);
        assert.equal(node(step, "with", "command").value, "preview");
        assert.equal(node(step, "with", "stack-name").value, "${{ matrix.stack }}");
        assert.equal(node(step, "with", "comment-on-pr").value, "true");
        assertCredentials(step);
    });

    it("gives a pull request's code the stacks' credentials only from branches of this repository, and only once a reviewer approves", () => {
        const preview = node(text, "jobs", "preview");
        // A fork's pull request is skipped, not failed for lack of secrets.
        assert.equal(node(preview, "if").value, "github.event_name == 'pull_request' && github.event.pull_request.head.repo.full_name == github.repository");
        // The environment with required reviewers holds the credentials: the job waits for the approval before it sees them.
        assert.equal(node(preview, "environment").value, "preview");
        assert.doesNotMatch(text, /pull_request_target/, "pull_request_target would run with the base's secrets and write token");
    });

    it("runs up only on manual dispatch, one update per stack at a time, behind the stack's environment", () => {
        const up = node(text, "jobs", "up");
        assert.match(node(up, "if").value, /^github\.event_name == 'workflow_dispatch' && /);
        assert.equal(node(up, "environment").value, "${{ inputs.stack }}");
        assert.equal(node(up, "concurrency", "group").value, "pulumi-up-${{ inputs.stack }}");
        assert.equal(node(up, "concurrency", "cancel-in-progress").value, "false");
        const step = pulumiStep(up);
        assert.equal(node(step, "with", "command").value, "up");
        assert.equal(node(step, "with", "stack-name").value, "${{ inputs.stack }}");
        assertCredentials(step);
    });

    it("changes nothing from anywhere else", () => {
        assert.deepEqual(text.match(/command:\s*\S+/g), ["command: preview", "command: up"]);
        for (const job of keysOf(node(text, "jobs"))) {
            for (const step of items(node(text, "jobs", job, "steps")).filter((s) => has(s, "run"))) {
                const script = [node(step, "run").value, ...node(step, "run").body].join("\n");
                assert.doesNotMatch(script, /pulumi\s+(up|update|destroy|refresh|import)\b/, `job ${job} runs Pulumi outside pulumi/actions`);
            }
        }
    });
});
