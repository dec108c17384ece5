import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { alerterFromFile } from "../monitoring/alerts";
import type { AgentConfig } from "../../contract";
import { readSecretFile } from "../core/config";
import { ExportEntry } from "../takeover/export";
import { awaitsMerge, type Handback } from "../takeover/handback-record";
import { callStandby, fingerprints, mergeHandback } from "../takeover/handover";
import { shipFinalWrites } from "../replication/litestream-sync";
import { log } from "../core/log";
import { eventStored, ProbeResult, PROBES_MAX_MS, runProbes } from "./probes";
import { writeState } from "../core/state";
import { isActive, systemctl } from "../core/systemd";

export const DRILL_UNIT = "wirebot-fire-drill.service";
export const DRILL_LOG = "/var/log/wirebot/fire-drill.log";
export const DRILL_STATE = "last-drill.json";

export interface DrillStep {
    step: string;
    ok: boolean;
    ms: number;
    detail: string;
}

export interface DrillReport {
    id: string;
    startedAt: string;
    ok: boolean;
    /** From the primary's connector going down to it being up again. */
    primaryOffMs: number | null;
    steps: DrillStep[];
}

class DrillFailed extends Error {}

/**
 * The monthly fire drill, run on the primary: a real switchover to the standby
 * and back. The primary stops taking writes, the standby takes over once its
 * replicas hold the primary's last write, the drill's checks run against the
 * standby's services (endpoints, a chat answer, an event stored), the standby
 * gives the role back with a copy of what it took meanwhile, the primary merges
 * that by event id and serves again, and the same checks run on the primary.
 */
export async function runDrill(config: AgentConfig): Promise<DrillReport> {
    const alerter = alerterFromFile(config.alertWebhookUrlFile, log);
    const token = readSecretFile(config.tokenFile);
    const report: DrillReport = { id: crypto.randomUUID(), startedAt: new Date().toISOString(), ok: false, primaryOffMs: null, steps: [] };
    const logLine = (line: string) => appendDrillLog(`${new Date().toISOString()} drill ${report.id.slice(0, 8)} ${line}`);
    const step: Step = async (name, run) => {
        const started = Date.now();
        let entry: DrillStep;
        try {
            entry = { step: name, ok: true, ms: 0, detail: await run() };
        } catch (err) {
            entry = { step: name, ok: false, ms: 0, detail: (err as Error).message };
        }
        entry.ms = Date.now() - started;
        report.steps.push(entry);
        logLine(`${entry.ok ? "ok  " : "FAIL"} ${name} (${entry.ms} ms): ${entry.detail}`);
        if (!entry.ok) throw new DrillFailed(`${name}: ${entry.detail}`);
    };
    const standby = (call: string, body: unknown) => callStandby(config, token, call, body);
    let eventId: string | null = null;
    let offAt: number | null = null;
    let standbyActivated = false;
    logLine("starting");
    try {
        await step("preflight", () => preflight(config));
        offAt = Date.now();
        await step("stop primary connector", () => systemctl("stop", config.units.connector));
        await step("stop primary services", () => systemctl("stop", ...config.units.services));
        await step("ship the last writes", () => shipFinalWrites(config));
        const expect = await fingerprints(config);
        standbyActivated = true;
        await step("activate standby", async () => {
            const answer = (await standby("/activate", { reason: `fire drill ${report.id}`, expect })) as { takeover: { timeline: { step: string; ms: number }[] }; caughtUpMs: number };
            return `replicas matched in ${answer.caughtUpMs} ms; ${answer.takeover.timeline.map((t) => `${t.step} ${t.ms} ms`).join(", ")}`;
        });
        // The standby's services have just started: its probes wait for them (PROBES_MAX_MS).
        const probed = (await callStandby(config, token, "/probe", { drillId: report.id }, PROBES_MAX_MS)) as { results: ProbeResult[]; eventId: string | null };
        eventId = probed.eventId;
        for (const result of probed.results) await step(`standby: ${result.name}`, () => expectOk(result));
    } catch (err) {
        logLine(`drill stopped: ${(err as Error).message}; handing back to the primary`);
    }
    // Whatever happened above, the primary ends up serving with everything the standby took,
    // unless the standby cannot be made to let go: then it keeps serving and the alert says so.
    let released = !standbyActivated;
    if (standbyActivated) {
        let handback: Handback | null = null;
        released = await attempt(() =>
            step("deactivate standby", async () => {
                const answer = (await standby("/deactivate", { export: true })) as { exported: ExportEntry[]; handback: Handback | null };
                handback = answer.handback;
                return `stopped; ${answer.exported.length} database copy(ies) exported`;
            }),
        );
        // A standby that never took over exports nothing. A failed merge is retried by
        // the next failback flip (wirebot-merge is append-only): the primary serves meanwhile.
        const pending = handback as Handback | null;
        if (released && awaitsMerge(pending)) await attempt(() => step("merge what the standby took", () => mergeHandback(config, token, pending)));
    }
    if (offAt !== null && released) {
        await attempt(async () => {
            await step("start primary services", () => systemctl("enable", "--now", ...config.units.services));
            await step("start primary connector", () => systemctl("enable", "--now", config.units.connector));
            report.primaryOffMs = Date.now() - offAt!;
        });
        if (report.primaryOffMs !== null && config.probes) await attempt(() => checkPrimary(config, report.id, eventId, step));
    }
    report.ok = report.steps.every((s) => s.ok) && report.primaryOffMs !== null;
    logLine(`${report.ok ? "PASSED" : "FAILED"}; primary off for ${report.primaryOffMs ?? "n/a"} ms`);
    writeState(config.stateDir, DRILL_STATE, report);
    alerter.send(drillSummary(report));
    await alerter.flush(30_000);
    return report;
}

async function attempt(run: () => Promise<void>): Promise<boolean> {
    try {
        await run();
        return true;
    } catch {
        return false;
    }
}

type Step = (name: string, run: () => Promise<string> | string) => Promise<void>;

/** The same checks on the primary once it serves again, and the drill's event merged into its database. */
async function checkPrimary(config: AgentConfig, drillId: string, eventId: string | null, step: Step): Promise<void> {
    const probes = config.probes!;
    const checked = await runProbes({ ...probes, event: null }, drillId);
    for (const result of checked.results) await step(`primary: ${result.name}`, () => expectOk(result));
    if (probes.event && eventId) {
        const event = probes.event;
        await step("primary: drill event merged", () => {
            if (!eventStored(event, eventId)) throw new Error(`${eventId} is not in ${event.database}`);
            return `${eventId} present`;
        });
    }
}

function expectOk(result: ProbeResult): string {
    if (!result.ok) throw new Error(result.detail);
    return `${result.detail} (${result.ms} ms)`;
}

function preflight(config: AgentConfig): string {
    if (config.role !== "primary") throw new Error("the drill runs on the primary");
    if (!isActive(config.units.connector)) throw new Error(`${config.units.connector} is not active here: the primary is not serving, nothing to drill`);
    return "the primary serves";
}




function appendDrillLog(line: string): void {
    log(line);
    try {
        fs.mkdirSync(path.dirname(DRILL_LOG), { recursive: true });
        fs.appendFileSync(DRILL_LOG, line + "\n");
    } catch (err) {
        log(`cannot write ${DRILL_LOG}: ${(err as Error).message}`);
    }
}

export function drillSummary(report: DrillReport): string {
    const failed = report.steps.filter((s) => !s.ok);
    const head = `Fire drill ${report.ok ? "passed" : "FAILED"} on ${report.startedAt}: primary off ${report.primaryOffMs === null ? "n/a" : `${(report.primaryOffMs / 1000).toFixed(1)} s`}, ${report.steps.length} steps`;
    const lines = report.steps.map((s) => `${s.ok ? "✓" : "✗"} ${s.step} (${s.ms} ms)${s.ok ? "" : `: ${s.detail}`}`);
    return [head, ...(failed.length ? [`failed: ${failed.map((s) => s.step).join(", ")}`] : []), ...lines, `log: ${DRILL_LOG}`].join("\n");
}
