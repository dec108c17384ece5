import { strict as assert } from "node:assert";
import fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it, mock } from "node:test";
import { readState, removeState, writeState } from "../../agent/src/core/state";

// A record of intent is worth only what survives a power cut: each state file
// goes through a flushed temporary file and a rename, then its directory is
// flushed. The order of the calls is what is checked here.

function traced(run: () => void): string[] {
    const calls: string[] = [];
    const names = new Map<number, string>();
    const open = fs.openSync;
    mock.method(fs, "openSync", (file: string, ...rest: unknown[]) => {
        const fd = (open as (...a: unknown[]) => number)(file, ...rest);
        names.set(fd, path.basename(file).replace(/\.\d+\.tmp$/, ".tmp"));
        return fd;
    });
    const fsync = fs.fsyncSync;
    mock.method(fs, "fsyncSync", (fd: number) => {
        calls.push(`fsync ${names.get(fd)}`);
        fsync(fd);
    });
    const rename = fs.renameSync;
    mock.method(fs, "renameSync", (from: string, to: string) => {
        calls.push(`rename ${path.basename(from).replace(/\.\d+\.tmp$/, ".tmp")} ${path.basename(to)}`);
        rename(from, to);
    });
    try {
        run();
    } finally {
        mock.restoreAll();
    }
    return calls;
}

describe("state files", () => {
    it("are flushed before the rename, and their directory after it", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wirebot-state-"));
        const calls = traced(() => writeState(dir, "handback.json", { state: "exporting" }));
        assert.deepEqual(calls, ["fsync handback.json.tmp", "rename handback.json.tmp handback.json", `fsync ${path.basename(dir)}`]);
        assert.deepEqual(readState(dir, "handback.json"), { state: "exporting" });
        assert.deepEqual(fs.readdirSync(dir), ["handback.json"], "no temporary file is left");
    });

    it("are removed for good: the directory is flushed after the removal", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wirebot-state-"));
        writeState(dir, "reseed-pending.json", {});
        const calls = traced(() => removeState(dir, "reseed-pending.json"));
        assert.deepEqual(calls, [`fsync ${path.basename(dir)}`]);
        assert.equal(readState(dir, "reseed-pending.json"), null);
    });
});
