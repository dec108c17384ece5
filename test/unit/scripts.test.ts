import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { HOST_DIR } from "../../src/render/templates";

function shellScripts(): string[] {
    const found: string[] = [];
    const walk = (dir: string) => {
        for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
            const full = path.join(dir, entry.name);
            if (entry.isDirectory()) walk(full);
            else if (fs.readFileSync(full, "utf8").startsWith("#!/bin/sh")) found.push(full);
        }
    };
    walk(HOST_DIR);
    return found;
}

describe("host scripts", () => {
    const scripts = shellScripts();

    it("are found", () => {
        assert.ok(scripts.length >= 8, scripts.join(", "));
    });

    for (const script of scripts) {
        it(`${path.relative(HOST_DIR, script)} passes shellcheck`, () => {
            // Step scripts are fragments: the dispatcher (step.sh) and libraries are joined to them on the host.
            const result = spawnSync("shellcheck", ["--shell=sh", "--exclude=SC2034,SC2154", "--format=gcc", script], { encoding: "utf8" });
            assert.equal(result.error, undefined, "shellcheck must be installed: apt-get install -y shellcheck");
            assert.equal(result.status, 0, result.stdout + result.stderr);
        });
    }
});
