import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { runCommand } from "../../agent/src/core/command";

describe("runCommand: a host command off the event loop", () => {
    it("survives commands that exit without reading their input, many at once", async () => {
        // Each exits at once and closes its stdin while a large input is still being written.
        const input = "x".repeat(4 * 1024 * 1024);
        const outs = await Promise.all(Array.from({ length: 20 }, (_, i) => runCommand("sh", ["-c", `echo ${i}`], input)));
        assert.deepEqual(outs.map((o) => o.trim()), Array.from({ length: 20 }, (_, i) => String(i)));
        assert.equal((await runCommand("true", [])).trim(), "");
    });

    it("feeds its input, and a failure carries the command and what it said", async () => {
        assert.equal(await runCommand("cat", [], "fed\n"), "fed\n");
        await assert.rejects(runCommand("sh", ["-c", "echo broken >&2; exit 3"]), (err: Error & { stderr?: string }) => err.message === "Command failed: sh -c echo broken >&2; exit 3\nbroken" && err.stderr === "broken\n");
    });
});
