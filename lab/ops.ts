import { ChildProcess, spawn } from "node:child_process";
import * as path from "node:path";
import { engineEnv, projectDir } from "./engine";
import type { LabEnv } from "./lab";

// The operator's CLI (`wirebot-ops`, package.json's bin, the launcher npx runs)
// in the lab's project directory with the lab's Pulumi environment, as an
// operator runs it.

const LAUNCHER = path.resolve(__dirname, "../src/cli/wirebot-ops");

export interface OpsRun {
    status: number;
    stdout: string;
    stderr: string;
    ms: number;
}

/** `wirebot-ops <args>` running, its output so far readable, without blocking the load and the sampler. */
export function opsStart(env: LabEnv, args: string[]): { child: ChildProcess; output: () => string; done: Promise<OpsRun> } {
    const started = Date.now();
    const child = spawn(LAUNCHER, args, { cwd: projectDir(env), env: { ...process.env, ...engineEnv(env) }, timeout: 15 * 60_000 });
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d) => (stdout += d));
    child.stderr!.on("data", (d) => (stderr += d));
    const done = new Promise<OpsRun>((resolve) => child.on("close", (code) => resolve({ status: code ?? -1, stdout, stderr, ms: Date.now() - started })));
    return { child, output: () => stdout + stderr, done };
}

export function ops(env: LabEnv, ...args: string[]): Promise<OpsRun> {
    return opsStart(env, args).done;
}
