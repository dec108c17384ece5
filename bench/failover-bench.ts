import * as fs from "node:fs";
import * as path from "node:path";
import { LabEnv } from "../lab/lab";
import { RuntimeLab, Sampler, setAgents, startRuntimeLab, stopRuntimeLab, upOk } from "../lab/runtime-harness";
import { emergency, failback, failbackCommand, FlipMeasure, powerOnPrimary, switchover, switchoverCommand } from "./flip-cycles";
import { backAfterAutomatic, Kill, kill, median, progress, round } from "./power-off";
import { tenantCounts, tenantSection } from "./tenants";

// Unplanned failover on the lab, measured: the primary is powered off under the
// 50 events/s load, KILLS times at the default 10 s heartbeat and KILLS times
// at 2 s. Each kill reports detection (power off to the watchdog acting),
// activation (the watchdog's own timeline) and RTO (power off to the standby's
// connector up, as the sampler sees it), and the acknowledged events the
// standby does not have. Between kills the primary comes back and the operator's
// path is taken: acknowledge with the standby stack, then fail back (measured).
// First the engine's own figures (cold converge, no-op pulumi up), then PAIRS
// planned switchovers and failbacks in a row, each of which must succeed. Before
// the kills, CYCLES rounds of the config-flip paths (switchover, failback,
// emergency failover by flip and the failback after it), with heartbeats at 2 s
// and the watchdog in alert-only mode so that only the flips act, then
// COMMAND_CYCLES switchovers and failbacks through the operator's CLI.
// A section set to 0 is skipped; the figures of a run that skips some are
// merged into the results file, each section stamped with when it ran.
// With --tenants N (or a list, --tenants 0,50,200) only the tenant section runs,
// once per count (bench/tenants.ts), and its figures go into latest.json under
// "tenants", keyed by the count, next to what is there already.

const KILLS = Number(process.env.BENCH_KILLS ?? 5);
const CYCLES = Number(process.env.BENCH_CYCLES ?? 5);
const PAIRS = Number(process.env.BENCH_PAIRS ?? 20);
const COMMAND_CYCLES = Number(process.env.BENCH_COMMAND_CYCLES ?? 5);
const OUT = path.join(__dirname, "results", "latest.json");

function summariseFlips(path: string, runs: FlipMeasure[]): Record<string, number> {
    return {
        [`${path}_s_median`]: round(median(runs.map((r) => r.seconds))),
        [`${path}_s_max`]: round(Math.max(...runs.map((r) => r.seconds))),
        [`${path}_steps_s_median`]: round(median(runs.map((r) => r.stepsSeconds))),
        [`${path}_events_lost_median`]: median(runs.map((r) => r.lost)),
        [`${path}_events_lost_max`]: Math.max(...runs.map((r) => r.lost)),
        [`${path}_events_acked_min`]: Math.min(...runs.map((r) => r.acked)),
    };
}

/**
 * PAIRS planned switchovers and failbacks in a row, from the fresh lab: each
 * must succeed and lose nothing. A refused flip is counted and its reason kept;
 * the next pair starts from whichever side serves.
 */
async function plannedPairs(env: LabEnv, sampler: Sampler): Promise<Record<string, unknown>> {
    await setAgents(env, 2, false);
    await new Promise((r) => setTimeout(r, 6000));
    const measures: FlipMeasure[] = [];
    const refusals: string[] = [];
    for (let n = 1; n <= PAIRS; n++) {
        for (const [name, flip] of [["switchover", switchover], ["failback", failback]] as const) {
            try {
                const m = await flip(env, sampler);
                measures.push(m);
                progress(`planned pair ${n}/${PAIRS}: ${name} ${m.seconds.toFixed(1)} s to serving, lost ${m.lost}/${m.acked}`);
            } catch (err) {
                refusals.push(`${name} ${n}: ${(err as Error).message.split("\n").find((l) => /wirebot-failover:|refused/.test(l)) ?? (err as Error).message.slice(0, 300)}`);
                progress(`planned pair ${n}/${PAIRS}: ${name} FAILED`);
            }
        }
    }
    return {
        planned_flips: 2 * PAIRS,
        planned_flips_ok: measures.length,
        planned_flips_refused: refusals,
        planned_flips_events_lost_max: measures.length ? Math.max(...measures.map((m) => m.lost)) : null,
        planned_flips_s_median: measures.length ? round(median(measures.map((m) => m.seconds))) : null,
    };
}

async function flipCycles(env: LabEnv, sampler: Sampler): Promise<Record<string, unknown>> {
    await setAgents(env, 2, false);
    await new Promise((r) => setTimeout(r, 6000));
    const runs: Record<string, FlipMeasure[]> = { switchover: [], failback: [], emergency: [], failback_after_emergency: [] };
    const show = (path: string, m: FlipMeasure) => {
        runs[path].push(m);
        progress(`  ${path}: ${m.seconds.toFixed(1)} s to serving (steps ${m.stepsSeconds.toFixed(1)} s), lost ${m.lost}/${m.acked}`);
    };
    for (let n = 1; n <= CYCLES; n++) {
        progress(`config flips: cycle ${n}/${CYCLES}`);
        show("switchover", await switchover(env, sampler));
        show("failback", await failback(env, sampler));
        show("emergency", await emergency(env, sampler));
        await powerOnPrimary(env);
        show("failback_after_emergency", await failback(env, sampler));
    }
    const out: Record<string, unknown> = {};
    for (const [path, measures] of Object.entries(runs)) Object.assign(out, summariseFlips(path, measures), { [`${path}_runs`]: measures });
    // A flip is timed from its first `pulumi up`: the engine's time is in it.
    out.switchover_up_s_median = out.switchover_s_median;
    out.failback_up_s_median = out.failback_s_median;
    return out;
}

/**
 * COMMAND_CYCLES rounds of `wirebot-ops switchover` then `wirebot-ops failback`
 * under the load: command start to the other side serving, the engine included.
 */
async function commandCycles(env: LabEnv, sampler: Sampler): Promise<Record<string, unknown>> {
    await setAgents(env, 2, false);
    await new Promise((r) => setTimeout(r, 6000));
    const runs: Record<string, FlipMeasure[]> = { switchover_cmd: [], failback_cmd: [] };
    for (let n = 1; n <= COMMAND_CYCLES; n++) {
        for (const [path, flip] of [["switchover_cmd", switchoverCommand], ["failback_cmd", failbackCommand]] as const) {
            const m = await flip(env, sampler);
            runs[path].push(m);
            progress(`wirebot-ops cycle ${n}/${COMMAND_CYCLES}: ${path.replace("_cmd", "")} ${m.seconds.toFixed(1)} s to serving (command ${m.stepsSeconds.toFixed(1)} s), lost ${m.lost}/${m.acked}`);
        }
    }
    const out: Record<string, unknown> = {};
    for (const [path, measures] of Object.entries(runs)) Object.assign(out, summariseFlips(path, measures), { [`${path}_runs`]: measures });
    return out;
}

function summarise(prefix: string, kills: Kill[]): Record<string, number> {
    const out: Record<string, number> = {};
    for (const key of ["detection_s", "activation_s", "rto_s"] as const) {
        const figure = key.replace(/_s$/, "");
        out[`${prefix}${figure}_s_median`] = round(median(kills.map((k) => k[key])));
        out[`${prefix}${figure}_s_max`] = round(Math.max(...kills.map((k) => k[key])));
    }
    out[`${prefix}unplanned_events_lost_median`] = median(kills.map((k) => k.events_lost));
    out[`${prefix}unplanned_events_lost_max`] = Math.max(...kills.map((k) => k.events_lost));
    return out;
}

/** The engine's own figures: the cold converge of fresh hosts, and `pulumi up` with nothing to change. */
async function engineFigures(lab: RuntimeLab): Promise<Record<string, number>> {
    const out: Record<string, number> = { converge_cold_s: round((lab.convergeMs.primary + lab.convergeMs.standby) / 1000) };
    for (const stack of ["primary", "standby"] as const) {
        const runs: number[] = [];
        for (let n = 0; n < 3; n++) runs.push((await upOk(lab.env, stack, `no-op pulumi up -s ${stack}`)) / 1000);
        out[`noop_up_s_median_${stack}`] = round(median(runs));
    }
    progress(`engine: cold converge ${out.converge_cold_s} s; no-op up primary ${out.noop_up_s_median_primary} s, standby ${out.noop_up_s_median_standby} s`);
    return out;
}

function previousResults(): Record<string, unknown> {
    return fs.existsSync(OUT) ? (JSON.parse(fs.readFileSync(OUT, "utf8")) as Record<string, unknown>) : {};
}

function previousTenants(): { tenants?: unknown } {
    const { tenants } = previousResults();
    return tenants ? { tenants } : {};
}

async function tenantsMain(counts: number[]): Promise<void> {
    const lab = await startRuntimeLab([], 10);
    const sections: Record<string, Record<string, unknown>> = {};
    try {
        for (const n of counts) {
            progress(`tenant section: ${n} tenant databases`);
            sections[String(n)] = await tenantSection(lab.env, lab.sampler, n);
        }
    } finally {
        await stopRuntimeLab(lab);
    }
    const results = previousResults();
    results.tenants = { ...((results.tenants as Record<string, unknown>) ?? {}), ...sections };
    fs.mkdirSync(path.dirname(OUT), { recursive: true });
    fs.writeFileSync(OUT, JSON.stringify(results, null, 2) + "\n");
    for (const [n, section] of Object.entries(sections)) {
        for (const [key, value] of Object.entries(section)) if (typeof value === "number" || typeof value === "boolean") console.log(`tenants[${n}].${key.padEnd(40)} ${value}`);
        if (section.error) console.log(`tenants[${n}].error ${section.error}`);
    }
    console.log(`written to ${path.relative(process.cwd(), OUT)} under "tenants"`);
}

async function main(): Promise<void> {
    const counts = tenantCounts(process.argv.slice(2));
    if (counts) return tenantsMain(counts);
    const lab = await startRuntimeLab([], 10);
    const { env, sampler } = lab;
    const results: Record<string, unknown> = {};
    try {
        Object.assign(results, await engineFigures(lab));
        if (PAIRS > 0) Object.assign(results, await plannedPairs(env, sampler));
        if (CYCLES > 0) Object.assign(results, await flipCycles(env, sampler));
        if (COMMAND_CYCLES > 0) Object.assign(results, await commandCycles(env, sampler));
        for (const [label, prefix, heartbeat] of KILLS > 0 ? ([["10 s heartbeat (default)", "", 10], ["2 s heartbeat", "hb2s_", 2]] as const) : []) {
            await setAgents(env, heartbeat, true);
            await new Promise((r) => setTimeout(r, 3 * heartbeat * 1000));
            const kills: Kill[] = [];
            const failbacks: FlipMeasure[] = [];
            for (let n = 1; n <= KILLS; n++) {
                progress(`${label}: kill ${n}/${KILLS}`);
                const k = await kill(env, sampler);
                progress(`  detection ${k.detection_s.toFixed(1)} s, activation ${k.activation_s.toFixed(2)} s, RTO ${k.rto_s.toFixed(1)} s, lost ${k.events_lost}/${k.events_acked}`);
                kills.push(k);
                const back = await backAfterAutomatic(env, sampler, heartbeat);
                progress(`  failback after it: ${back.seconds.toFixed(1)} s to serving, lost ${back.lost}/${back.acked}`);
                failbacks.push(back);
            }
            Object.assign(results, summarise(prefix, kills), summariseFlips(`${prefix}failback_after_automatic`, failbacks), { [`${prefix}kills`]: kills });
        }
        results.connectors_active_max = sampler.maxOnAtOnce;
        results.connector_samples = sampler.samples;
    } finally {
        await stopRuntimeLab(lab);
    }
    const measuredAt = new Date().toISOString();
    const sections = { engine: 1, planned_pairs: PAIRS, flip_cycles: CYCLES, command_cycles: COMMAND_CYCLES, kills_per_setting: KILLS };
    const previous = fs.existsSync(OUT) ? (JSON.parse(fs.readFileSync(OUT, "utf8")) as Record<string, unknown>) : {};
    const stamps = { ...((previous.sectionsMeasuredAt as Record<string, string>) ?? {}) };
    for (const [section, count] of Object.entries(sections)) if (count > 0) stamps[section] = measuredAt;
    const summary = {
        ...previous,
        measuredAt,
        sectionsMeasuredAt: stamps,
        load_events_per_s: 50,
        ...Object.fromEntries(Object.entries(sections).filter(([section, count]) => section !== "engine" && count > 0)),
        ...results,
        // The tenant sections (--tenants) are kept from the runs that made them.
        ...previousTenants(),
    };
    fs.mkdirSync(path.dirname(OUT), { recursive: true });
    fs.writeFileSync(OUT, JSON.stringify(summary, null, 2) + "\n");
    for (const [key, value] of Object.entries(results)) if (typeof value === "number") console.log(`${key.padEnd(40)} ${value}`);
    console.log(`written to ${path.relative(process.cwd(), OUT)}`);
}

main().catch((err: Error) => {
    process.stderr.write(`bench failed: ${err.stack ?? err.message}\n`);
    process.exit(1);
});
