import { activate, Takeover, takeoverRecord, TAKEOVER } from "./activation";
import type { AgentConfig } from "../../contract";
import { readSecretFile } from "../core/config";
import { askStandby, callStandby, fingerprints, localPositions, mergeHandback, StandbyView } from "./handover";
import * as reseed from "./reseed";
import { describeUnmerged, Handback, unmergedExport } from "./handback-record";
import { owesHandback } from "./handback";
import { ShipFailed, shipFinalWrites } from "../replication/litestream-sync";
import { log } from "../core/log";
import { readState, removeState, writeState } from "../core/state";
import { isActive, systemctl } from "../core/systemd";
import { primaryDownAfterSeconds, primarySilenceSeconds } from "../heartbeat/primary-life";

/**
 * The active side changed in the stack config, and `pulumi up` converges each
 * host's serving step, which runs `wirebot-failover flip serve|stand-down`
 * before it starts or stops anything. The order is always: the primary stack,
 * then the standby stack; in an emergency the standby stack alone. The primary
 * drives both planned paths because it is the side that must stop writing first
 * (switchover) or take the standby's writes (failback). A flip in an unsafe
 * order is refused with the reason and what to run, and nothing is changed.
 */
export type FlipDirection = "serve" | "stand-down";

export class FlipRefused extends Error {}

const ORDER = "the order is: pulumi up -s primary, then pulumi up -s standby (in an emergency, pulumi up -s standby alone)";

export async function flip(config: AgentConfig, direction: FlipDirection, now = Date.now()): Promise<string> {
    if (config.role === "primary") return direction === "serve" ? primaryServe(config) : primaryStandDown(config);
    return direction === "serve" ? standbyServe(config, now) : standbyStandDown(config, now);
}

function serving(config: AgentConfig): boolean {
    return isActive(config.units.connector) || config.units.services.some(isActive);
}

function describeTakeover(t: StandbyView["takeover"]): string {
    return t ? `${t.automatic ? "automatically " : ""}at ${t.at} (${t.reason})` : "";
}

/**
 * Failback: the standby stops and hands back what it wrote, that is merged here
 * by key, replication starts over, then this host serves. The standby is always
 * asked to hand back, serving or not: only it knows whether it took writes since
 * its last export, or left one halfway.
 */
async function primaryServe(config: AgentConfig): Promise<string> {
    const standby = await askStandby(config);
    const servingHere = isActive(config.units.connector);
    if ("unreachable" in standby) return servingHere ? "the primary already serves" : serveWithoutStandby(config, standby.unreachable);
    if (standby.activating && !standby.serving) {
        throw new FlipRefused("the standby is taking over right now (its watchdog or an emergency flip); run pulumi up -s primary again once it serves, after acknowledging it");
    }
    const token = readSecretFile(config.tokenFile);
    if (servingHere) {
        // A fire drill whose merge failed serves the primary with the export left unmerged: merge it now.
        if (standby.serving || !standby.handback || standby.handback.merged) return `the primary already serves${await reseedIfOwed(config, token)}`;
        return `the primary already serves; ${await mergePending(config, token)}${await reseedIfOwed(config, token)}`;
    }
    const t = standby.takeover;
    if (standby.serving && t?.automatic && !t.acknowledged) {
        throw new FlipRefused(
            `the standby took over ${describeTakeover(t)} and the config was never flipped to acknowledge it; its writes since then exist only there. ` +
                "Acknowledge first: pulumi config set wirebot:activeSide standby on both stacks, pulumi up -s standby; then fail back by setting it to primary again (pulumi up -s primary, then -s standby).",
        );
    }
    log(standby.serving ? "flip: the standby serves; asking it to stop and hand back what it took" : "flip: asking the standby to hand back anything it has not");
    const merged = await mergePending(config, token, true);
    if (merged === NOTHING_UNMERGED && !reseed.owed(config)) return "the standby does not serve and has nothing unmerged";
    return `failback: ${merged}${await reseedIfOwed(config, token)}`;
}

const NOTHING_UNMERGED = "nothing unmerged";

/** Has the standby stop and finish its export (or name the one it has), and merges it here; a failback then owes the replicas a fresh start. */
async function mergePending(config: AgentConfig, token: string, failback = false): Promise<string> {
    const answer = (await callStandby(config, token, "/deactivate", { export: true })) as { handback: Handback | null };
    const handback = answer.handback;
    if (!handback || handback.merged) return NOTHING_UNMERGED;
    if (failback) reseed.owe(config, handback.id);
    const merged = await mergeHandback(config, token, handback.id);
    log(`flip: merged the standby's export ${handback.id}: ${merged}`);
    return `merged ${merged}`;
}

/**
 * Without the standby's word the primary does not know whether the standby
 * served and holds writes it lacks, so it serves only once the operator has
 * said that the standby and its writes are lost (forget-standby), once.
 */
function serveWithoutStandby(config: AgentConfig, why: string): string {
    const forgotten = readState<{ at: string }>(config.stateDir, STANDBY_FORGOTTEN);
    if (!forgotten) {
        throw new FlipRefused(
            `the standby cannot be asked (${why}): it may have served, and the primary would serve without what it wrote. ` +
                "Bring the standby's agent back, then run pulumi up -s primary again. " +
                "If the standby is lost for good, and its writes with it: run wirebot-failover forget-standby on the primary, then pulumi up -s primary",
        );
    }
    removeState(config.stateDir, STANDBY_FORGOTTEN);
    log(`flip: the standby cannot be asked (${why}); serving without it, as the operator decided at ${forgotten.at}`);
    return `the standby cannot be asked; serving without its writes, as decided at ${forgotten.at} (wirebot-failover forget-standby)`;
}

async function reseedIfOwed(config: AgentConfig, token: string): Promise<string> {
    if (!reseed.owed(config)) return "";
    const reseeded = await reseed.reseedReplicas(config, token);
    log(`flip: ${reseeded}`);
    return `; ${reseeded}`;
}

export const STANDBY_FORGOTTEN = "standby-forgotten.json";

/** The operator's word that the standby is lost, and what it wrote with it: the next failback flip serves without asking it. */
export function forgetStandby(config: AgentConfig): string {
    if (config.role !== "primary") throw new FlipRefused("forget-standby is run on the primary");
    writeState(config.stateDir, STANDBY_FORGOTTEN, { at: new Date().toISOString() });
    return "the next pulumi up -s primary serves without asking the standby; anything the standby wrote and the primary lacks is given up";
}

/** Switchover: writes stop here, the standby takes over once its replicas hold this host's last write. */
async function primaryStandDown(config: AgentConfig): Promise<string> {
    const standby = await askStandby(config);
    if (!serving(config)) return "the primary does not serve";
    if ("unreachable" in standby) {
        throw new FlipRefused(`the standby cannot be asked (${standby.unreachable}); stopping the primary now would leave nobody serving. Bring the standby's agent back, then run pulumi up -s primary again`);
    }
    if (standby.serving) return "the standby already serves";
    const token = readSecretFile(config.tokenFile);
    systemctl("disable", "--now", config.units.connector);
    systemctl("disable", "--now", ...config.units.services);
    try {
        const shipped = shipFinalWrites(config);
        log(`flip: writes stopped; shipped ${shipped}`);
        const expect = fingerprints(config);
        const answer = (await callStandby(config, token, "/activate", { reason: "switchover: the config made the standby active", expect })) as {
            takeover: Takeover;
            caughtUpMs: number;
        };
        return `switchover: writes stopped and shipped (${shipped}), the standby's replicas matched in ${answer.caughtUpMs} ms, it serves (${answer.takeover.timeline.map((t) => `${t.step} ${t.ms} ms`).join(", ")})`;
    } catch (err) {
        // The standby would not take over: this host serves again rather than nobody.
        systemctl("enable", "--now", ...config.units.services);
        systemctl("enable", "--now", config.units.connector);
        if (err instanceof ShipFailed) throw new FlipRefused(`${err.message}; the primary serves again, nothing changed`);
        throw new FlipRefused(`the standby did not take over (${(err as Error).message}; this host's Litestream had reached ${localPositions(config)}); the primary serves again, nothing changed`);
    }
}

/** Emergency failover, or the acknowledgement of an automatic one (or of a switchover the primary already made). */
async function standbyServe(config: AgentConfig, now: number): Promise<string> {
    const current = takeoverRecord(config);
    if (isActive(config.units.connector)) {
        if (current && !current.acknowledged) {
            writeState(config.stateDir, TAKEOVER, { ...current, acknowledged: true });
            return `acknowledged the automatic failover of ${current.at}: the config now says standby`;
        }
        return "the standby already serves";
    }
    const age = primarySilenceSeconds(config, now);
    const limit = primaryDownAfterSeconds(config);
    if (age !== null && age < limit) {
        throw new FlipRefused(
            `the primary is alive (last heartbeat ${age.toFixed(0)} s ago): a switchover is run from the primary, which stops its writes and hands over with nothing lost; ${ORDER}. ` +
                `If the primary is in fact down, its heartbeats stop and this flip is accepted ${Math.ceil(limit - age)} s from now.`,
        );
    }
    // The witness is asked (bounded): a primary that still serves the hostname is a partition, not a dead primary.
    const takeover = await activate(config, `emergency failover: the config made the standby active; no heartbeat ${age === null ? "since this agent started" : `for ${age.toFixed(0)} s`}`, false, {
        primaryMustBeSilent: true,
    });
    return `emergency failover: serving from the replicas as they were (${takeover.timeline.map((t) => `${t.step} ${t.ms} ms`).join(", ")})`;
}

/** Failback is run from the primary; here the standby only confirms that it let go and that its writes reached the primary. */
async function standbyStandDown(config: AgentConfig, now: number): Promise<string> {
    const current = takeoverRecord(config);
    if (isActive(config.units.connector)) {
        const age = primarySilenceSeconds(config, now);
        const primaryDown = age === null || age >= primaryDownAfterSeconds(config);
        const why = current?.automatic && !current.acknowledged ? ` It took over ${describeTakeover(current)} and the config never acknowledged it.` : "";
        throw new FlipRefused(
            `this standby still takes writes and the primary has not taken them.${why} ` +
                (primaryDown
                    ? `The primary is unreachable (${age === null ? "no heartbeat since this agent started" : `last heartbeat ${age.toFixed(0)} s ago`}): bring it back first; it must take these writes. `
                    : "") +
                `Fail back with pulumi up -s primary (it stops this standby, merges its writes by event id and serves), then pulumi up -s standby; ${ORDER}.`,
        );
    }
    const pending = unmergedExport(config);
    if (pending) throw new FlipRefused(`this standby's ${describeUnmerged(pending)}: run pulumi up -s primary (it merges it), then pulumi up -s standby`);
    if (owesHandback(config)) {
        throw new FlipRefused(`this standby took over at ${current?.at} and stopped without handing back what it wrote: run pulumi up -s primary (it has the standby export and merges it), then pulumi up -s standby`);
    }
    return "the standby does not serve";
}
