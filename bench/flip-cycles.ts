import { hosts, LabEnv, LabHost, Result, ssh, sshOk, waitFor } from "../lab/lab";
import { ops } from "../lab/ops";
import { flipServing, Load, Sampler } from "../lab/runtime-harness";

// The config-flip paths, measured on the lab: the active side set in each
// stack's config and `pulumi up` of the primary stack before the standby stack,
// under the 50 events/s load. Lost events are acknowledged ids missing from the
// database of the side that serves afterwards.

const EVENTS_DB = "/data/wirebot/scoreboard/events.db";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface FlipMeasure {
    /** From the first `pulumi up` of the flip to the new side's connector up. */
    seconds: number;
    /** Both stacks' `pulumi up`, start to end. */
    stepsSeconds: number;
    acked: number;
    lost: number;
    /** The flip's own account of its steps and their times (its "flip:", "switchover:" and "failback:" lines), when it printed one. */
    detail?: string;
}

/** The flip's lines from a `pulumi up`'s output. */
export function flipLines(output: string): string {
    // A flip's line follows the step's status ("...; "), "wirebot-failover: ", or the four spaces of
    // pulumi's diagnostics; the diff of the step's script, indented further, is not one.
    const lines = output
        .split("\n")
        .filter((l) => !l.includes('" => "'))
        .map((l) => /(?:; |wirebot-failover: |^ {4})((?:flip|switchover|failback): .*)$/.exec(l)?.[1])
        .filter((l): l is string => Boolean(l));
    return [...new Set(lines)].join("\n");
}

function ids(env: LabEnv, host: LabHost): Set<string> {
    return new Set(sshOk(env, host, `sqlite3 ${EVENTS_DB} 'select id from events'`).trim().split("\n"));
}

function ok(r: Result, what: string): void {
    if (r.status !== 0) throw new Error(`${what} failed: ${r.stderr}${r.stdout}`);
}

async function measured(env: LabEnv, sampler: Sampler, to: LabHost, flip: () => Promise<number | string | void>, lostFrom: (load: Load) => { id: string }[]): Promise<FlipMeasure> {
    const load = new Load(env, sampler);
    let started = 0;
    let serving = 0;
    let stepsDone = 0;
    let detail: string | undefined;
    try {
        await sleep(3000);
        started = Date.now();
        const watching = waitFor(`${to} to serve`, () => (sampler.serving() === to ? Date.now() : undefined), 120_000, 50);
        const flipped = await flip();
        if (typeof flipped === "number") started = flipped;
        if (typeof flipped === "string") detail = flipLines(flipped) || undefined;
        stepsDone = Date.now();
        serving = await watching;
        await sleep(2000);
    } finally {
        await load.stop();
    }
    const survived = ids(env, to);
    return {
        seconds: (serving - started) / 1000,
        stepsSeconds: (stepsDone - started) / 1000,
        acked: load.acked.length,
        lost: lostFrom(load).filter((a) => !survived.has(a.id)).length,
        ...(detail ? { detail } : {}),
    };
}

/** A planned flip to `to`: pulumi up -s primary, then -s standby. */
function planned(env: LabEnv, sampler: Sampler, to: LabHost, what: string): Promise<FlipMeasure> {
    return measured(
        env,
        sampler,
        to,
        async () => {
            const primary = await flipServing(env, "primary", to === "primary");
            ok(primary, `${what}: primary stack`);
            ok(await flipServing(env, "standby", to === "standby"), `${what}: standby stack`);
            return primary.stdout + primary.stderr;
        },
        (load) => load.acked,
    );
}

/**
 * A planned flip through the operator's CLI: `wirebot-ops switchover` or
 * `failback`, from the command's start to the other side serving; the command's
 * own run (both stacks through the engine) is `stepsSeconds`.
 */
function byCommand(env: LabEnv, sampler: Sampler, command: "switchover" | "failback", to: LabHost): Promise<FlipMeasure> {
    return measured(
        env,
        sampler,
        to,
        async () => {
            const run = await ops(env, command);
            if (run.status !== 0) throw new Error(`wirebot-ops ${command} failed (exit ${run.status}): ${run.stderr}${run.stdout}`);
        },
        (load) => load.acked,
    );
}

export const switchoverCommand = (env: LabEnv, sampler: Sampler) => byCommand(env, sampler, "switchover", "standby");
export const failbackCommand = (env: LabEnv, sampler: Sampler) => byCommand(env, sampler, "failback", "primary");

/** Planned switchover: activeSide standby. */
export const switchover = (env: LabEnv, sampler: Sampler) => planned(env, sampler, "standby", "switchover");

/** Failback: activeSide primary. */
export const failback = (env: LabEnv, sampler: Sampler) => planned(env, sampler, "primary", "failback");

/**
 * Emergency failover: the primary powered off, then pulumi up -s standby alone
 * once the primary has missed the heartbeat threshold. Counted from the flip.
 */
export function emergency(env: LabEnv, sampler: Sampler): Promise<FlipMeasure> {
    let poweredOff = 0;
    return measured(
        env,
        sampler,
        "standby",
        async () => {
            poweredOff = Date.now();
            hosts("poweroff", "primary");
            await waitFor("the missed heartbeats", () => (/missed 3 heartbeat/.test(ssh(env, "standby", "journalctl -u wirebot-watchdog --no-pager -o cat --since '-30s'").stdout) ? true : undefined), 60_000, 250);
            const flipped = Date.now();
            ok(await flipServing(env, "standby", true), "emergency: standby stack");
            return flipped;
        },
        (load) => load.acked.filter((a) => a.host === "primary" && a.at <= poweredOff),
    );
}

/**
 * The powered-off primary back, still off until the failback; its stack then
 * records that it stands down (activeSide standby, pulumi up -s primary), so the
 * failback is a change the engine carries out.
 */
export async function powerOnPrimary(env: LabEnv): Promise<void> {
    hosts("poweron", "primary");
    await waitFor("the primary's agent", () => (ssh(env, "primary", "systemctl is-active wirebot-replicator").stdout.trim() === "active" ? true : undefined), 90_000, 1000);
    await sleep(5000);
    ok(await flipServing(env, "primary", false), "the primary stack records the stand-down");
}
