import { LabEnv, sshOk, waitFor } from "../lab/lab";
import { flipServing, Load, powerOffUnderLoad, Sampler } from "../lab/runtime-harness";
import { EVENTS_DB } from "../lab/flips";
import { failback, FlipMeasure, powerOnPrimary } from "./flip-cycles";

// The primary powered off under load with the watchdog acting alone, and the
// operator's way back after it: what the benchmark's unplanned sections share.

export interface Kill {
    detection_s: number;
    activation_s: number;
    rto_s: number;
    events_acked: number;
    events_lost: number;
}

export interface TimelineEntry {
    step: string;
    ms: number;
    detail?: string;
}

/** A power-off as the standby's takeover record tells it, with the load that ran across it. */
export interface PowerOff {
    kill: Kill;
    timeline: TimelineEntry[];
    poweredOff: number;
    load: Load;
}

export function progress(line: string): void {
    process.stderr.write(`[bench] ${line}\n`);
}

export const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    const mid = Math.floor(s.length / 2);
    return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};
export const round = (x: number) => Math.round(x * 100) / 100;

/** The primary powered off under the 50/s load; the standby's watchdog takes over by itself. */
export async function powerOff(env: LabEnv, sampler: Sampler): Promise<PowerOff> {
    const { load, poweredOff, serving } = await powerOffUnderLoad(env, sampler, 4000, 1500, 120_000);
    const takeover = JSON.parse(sshOk(env, "standby", "cat /var/lib/wirebot-failover/takeover.json")) as { at: string; timeline: TimelineEntry[] };
    const activationMs = takeover.timeline.reduce((sum, t) => sum + t.ms, 0);
    const actedAt = Date.parse(takeover.at) - activationMs;
    const survived = new Set(sshOk(env, "standby", `sqlite3 ${EVENTS_DB} 'select id from events'`).trim().split("\n"));
    const acked = load.acked.filter((a) => a.host === "primary" && a.at <= poweredOff);
    return {
        kill: {
            detection_s: (actedAt - poweredOff) / 1000,
            activation_s: activationMs / 1000,
            rto_s: (serving - poweredOff) / 1000,
            events_acked: acked.length,
            events_lost: acked.filter((a) => !survived.has(a.id)).length,
        },
        timeline: takeover.timeline,
        poweredOff,
        load,
    };
}

export async function kill(env: LabEnv, sampler: Sampler): Promise<Kill> {
    return (await powerOff(env, sampler)).kill;
}

function heartbeatAgeSeconds(env: LabEnv): number {
    const [received, now] = sshOk(env, "standby", "stat -c %Y /var/lib/wirebot-failover/last-heartbeat.json; date +%s").trim().split("\n").map(Number);
    return now - received;
}

/**
 * Back to the primary the way an operator does it after an automatic failover:
 * the primary powered on (it stays off, the standby serves), the takeover
 * acknowledged with the standby stack, then the failback flip (primary stack,
 * then standby stack), measured like the other failbacks.
 */
export async function backAfterAutomatic(env: LabEnv, sampler: Sampler, heartbeat: number): Promise<FlipMeasure> {
    await powerOnPrimary(env);
    // Acknowledged with the standby stack (the primary stack recorded the stand-down as it came back).
    const acknowledged = await flipServing(env, "standby", true);
    if (acknowledged.status !== 0) throw new Error(`acknowledging the automatic failover failed: ${acknowledged.stderr}${acknowledged.stdout}`);
    const measure = await failback(env, sampler);
    await waitFor("a fresh heartbeat on the standby", () => (heartbeatAgeSeconds(env) < 2 * heartbeat ? true : undefined), 60_000, 1000);
    return measure;
}
