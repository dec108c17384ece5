import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { type AgentConfig, HOST_COMMANDS } from "../../contract";
import { readSecretFile } from "../core/config";
import { Deadline } from "../core/deadline";
import { log } from "../core/log";
import { primaryDownAfterSeconds, primarySilenceSeconds } from "../heartbeat/primary-life";
import { readState, writeState } from "../core/state";
import { isActive, systemctl } from "../core/systemd";
import { askWitness, decide, describeAnswer } from "../heartbeat/witness";
import { describeUnmerged, unmergedExport } from "./handback-record";

export const TAKEOVER = "takeover.json";
/** Present while an activation runs: the returning primary's claim to serve is refused meanwhile. */
export const ACTIVATING = "activating.json";
const WITNESS_TIMEOUT_MS = 3000;
/** Their own limits, generous: within a flip, what is left of its budget when that is shorter. */
const PLACE_FILES_LIMIT_MS = 10 * 60_000;
const RESTORE_LIMIT_MS = 30 * 60_000;

export interface TimelineEntry {
    step: string;
    ms: number;
    detail?: string;
}

export interface Takeover {
    at: string;
    /** When the activation began, before anything was restored or started (absent in older records). */
    startedAt?: string;
    reason: string;
    timeline: TimelineEntry[];
    /** The watchdog took over on its own: the config still says primary until the operator flips it. */
    automatic: boolean;
    /** The primary stopped and handed over: nothing it acknowledged is missing here. */
    planned: boolean;
    /** The config says standby: set by the flip that acknowledges an automatic takeover, true from the start otherwise. */
    acknowledged: boolean;
}

export interface ActivationKind {
    automatic?: boolean;
    planned?: boolean;
    /** Not the primary's own request: refuse if the primary showed life (heartbeat or claim) within the miss threshold. */
    primaryMustBeSilent?: boolean;
}

export class ActivationRefused extends Error {}

function lastLine(output: string): string | undefined {
    return output.trim().split("\n").pop();
}

async function timed(timeline: TimelineEntry[], step: string, run: () => unknown): Promise<void> {
    const started = Date.now();
    const detail = await run();
    const entry = { step, ms: Date.now() - started, ...(typeof detail === "string" ? { detail } : {}) };
    timeline.push(entry);
    log(`activate: ${step} done in ${entry.ms} ms${entry.detail ? ` (${entry.detail})` : ""}`);
}

/**
 * The standby takes over: synced files and the databases from the replicas into
 * the live paths, the services, then the connector. Safe to run again; refuses while the witness shows
 * the primary still serving, unless forced by the operator.
 */
export async function activate(config: AgentConfig, reason: string, force = false, kind: ActivationKind = {}, deadline = Deadline.unbounded()): Promise<Takeover> {
    // The marker goes down before the primary's last sign of life is read, and a
    // claim is recorded before the marker is read (see the watchdog): one of the
    // two always sees the other, so a returning primary and this activation
    // never both go ahead.
    writeState(config.stateDir, ACTIVATING, { pid: process.pid, at: new Date().toISOString(), reason });
    try {
        refuseIfExportUnmerged(config);
        if (kind.primaryMustBeSilent) refuseIfPrimaryAlive(config);
        return await activateSteps(config, reason, force, kind, deadline);
    } finally {
        fs.rmSync(path.join(config.stateDir, ACTIVATING), { force: true });
    }
}

function refuseIfPrimaryAlive(config: AgentConfig): void {
    const silence = primarySilenceSeconds(config, Date.now());
    if (silence !== null && silence < primaryDownAfterSeconds(config)) {
        throw new ActivationRefused(`the primary showed life ${silence.toFixed(1)} s ago (heartbeat or claim to serve); not activating`);
    }
}

/**
 * The writes this standby took last time exist only in its live databases and
 * its outbox until the primary merges them; a restore would set the live ones
 * aside and the next export would replace the outbox.
 */
function refuseIfExportUnmerged(config: AgentConfig): void {
    const pending = unmergedExport(config);
    if (!pending) return;
    throw new ActivationRefused(
        `this standby's ${describeUnmerged(pending)}: the writes it took last time exist only here, and taking over again would set them aside. ` +
            "Merge them first: fail back (wirebot:activeSide primary on both stacks, pulumi up -s primary), or on a primary that already serves run wirebot-failover flip serve. " +
            "If the primary is lost and cannot take them: wirebot-failover keep-export on this standby sets them aside for a merge by hand, then take over again",
    );
}

/** An activation is under way on this host, by a process that still runs. */
export function activationUnderway(config: AgentConfig): boolean {
    const marker = readState<{ pid: number }>(config.stateDir, ACTIVATING);
    if (!marker) return false;
    try {
        process.kill(marker.pid, 0);
        return true;
    } catch (err) {
        return (err as NodeJS.ErrnoException).code === "EPERM";
    }
}

async function activateSteps(config: AgentConfig, reason: string, force: boolean, kind: ActivationKind, deadline: Deadline): Promise<Takeover> {
    const startedAt = new Date().toISOString();
    const timeline: TimelineEntry[] = [];
    if (!force && config.witness) {
        const witness = config.witness;
        let decision = "";
        let said = "";
        await timed(timeline, "witness", async () => {
            const answer = await askWitness(witness, WITNESS_TIMEOUT_MS, readSecretFile(config.tokenFile));
            decision = decide(answer, os.hostname());
            return (said = describeAnswer(answer));
        });
        if (decision === "partition") {
            throw new ActivationRefused("the witness shows the primary still serving; not activating (a partition, not a dead primary)");
        }
        if (decision === "cannot-tell") {
            throw new ActivationRefused(`the witness ${said}, which is no proof that the primary is gone; not activating. If you know it is down: wirebot-failover activate --force on this host`);
        }
    }
    const connectorUp = isActive(config.units.connector);
    if (!connectorUp) {
        // Run without blocking the agent, which goes on answering heartbeats and questions meanwhile.
        await timed(timeline, "place files", async () => lastLine(await deadline.runAsync("putting the synced files in place", PLACE_FILES_LIMIT_MS, HOST_COMMANDS.placeFiles, [])));
        await timed(timeline, "restore", async () => lastLine(await deadline.runAsync("the restore of the databases", RESTORE_LIMIT_MS, HOST_COMMANDS.restore, [])));
    }
    await timed(timeline, "start services", () => void systemctl("enable", "--now", ...config.units.services));
    await timed(timeline, "start connector", () => void systemctl("enable", "--now", config.units.connector));
    const automatic = kind.automatic ?? false;
    const takeover: Takeover = { at: new Date().toISOString(), startedAt, reason, timeline, automatic, planned: kind.planned ?? false, acknowledged: !automatic };
    writeState(config.stateDir, TAKEOVER, takeover);
    return takeover;
}

/** Stops serving: the connector first, then the services, all disabled so a reboot keeps them off. */
export async function deactivate(config: AgentConfig): Promise<TimelineEntry[]> {
    const timeline: TimelineEntry[] = [];
    await timed(timeline, "stop connector", () => void systemctl("disable", "--now", config.units.connector));
    await timed(timeline, "stop services", () => void systemctl("disable", "--now", ...config.units.services));
    return timeline;
}

export function takeoverRecord(config: AgentConfig): Takeover | null {
    return readState<Takeover>(config.stateDir, TAKEOVER);
}
