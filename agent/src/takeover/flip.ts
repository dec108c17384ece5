import { activate, Takeover, takeoverRecord, TAKEOVER } from "./activation";
import type { AgentConfig } from "../../contract";
import { readSecretFile } from "../core/config";
import { Deadline } from "../core/deadline";
import { failBack } from "./failback";
import { describeTakeover, FlipRefused } from "./refusals";
import { askStandby, callStandby, describeUnheard, fingerprints, localPositions, STANDBY_CALL_TIMEOUT_MS } from "./handover";
import { describeUnmerged, unmergedExport } from "./handback-record";
import { owesHandback } from "./handback";
import { reseedReplicas } from "./reseed";
import { litestreamListening, ShipFailed, shipFinalWrites } from "../replication/litestream-sync";
import { log } from "../core/log";
import { writeState } from "../core/state";
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

export { FlipRefused };

const ORDER = "the order is: pulumi up -s primary, then pulumi up -s standby (in an emergency, pulumi up -s standby alone)";

export async function flip(config: AgentConfig, direction: FlipDirection, now = Date.now(), deadline = Deadline.fromEnvironment()): Promise<string> {
    if (config.role === "primary") return direction === "serve" ? failBack(config, deadline) : primaryStandDown(config, deadline);
    return direction === "serve" ? standbyServe(config, now, deadline) : standbyStandDown(config, now);
}

function serving(config: AgentConfig): boolean {
    return isActive(config.units.connector) || config.units.services.some(isActive);
}

/** Switchover: writes stop here, the standby takes over once its replicas hold this host's last write. */
async function primaryStandDown(config: AgentConfig, deadline: Deadline): Promise<string> {
    const standby = await askStandby(config);
    if (!serving(config)) return "the primary does not serve";
    if ("unreachable" in standby) {
        const fix = standby.answered ? " (or fix what the message names: the heartbeat token, the clocks)" : "";
        throw new FlipRefused(`${describeUnheard(standby)}; stopping the primary now would leave nobody serving. Bring the standby's agent back${fix}, then run pulumi up -s primary again`);
    }
    if (standby.serving) return "the standby already serves";
    const token = readSecretFile(config.tokenFile);
    systemctl("disable", "--now", config.units.connector);
    systemctl("disable", "--now", ...config.units.services);
    try {
        const shipped = await shipFinalWrites(config, deadline);
        log(`flip: writes stopped; shipped ${shipped}`);
        const answer = await handOver(config, token, deadline);
        return `switchover: writes stopped and shipped (${shipped}), the standby's replicas matched in ${answer.caughtUpMs} ms, it serves (${answer.takeover.timeline.map((t) => `${t.step} ${t.ms} ms`).join(", ")})`;
    } catch (err) {
        // The standby would not take over: this host serves again rather than nobody.
        systemctl("enable", "--now", ...config.units.services);
        systemctl("enable", "--now", config.units.connector);
        if (err instanceof ShipFailed) throw new FlipRefused(`${err.message}; the primary serves again, nothing changed`);
        throw new FlipRefused(`the standby did not take over (${(err as Error).message}; this host's Litestream had reached ${localPositions(config)}); the primary serves again, nothing changed`);
    }
}

interface HandedOver {
    takeover: Takeover;
    caughtUpMs: number;
}

async function askToTakeOver(config: AgentConfig, token: string, deadline: Deadline): Promise<HandedOver> {
    const started = Date.now();
    const expect = await fingerprints(config);
    log(`flip: fingerprints of ${Object.keys(expect).length} databases taken in ${Date.now() - started} ms; asking the standby to take over`);
    const reason = "switchover: the config made the standby active";
    return (await deadline.within("the standby's takeover", STANDBY_CALL_TIMEOUT_MS, (ms) => callStandby(config, token, "/activate", { reason, expect }, ms))) as HandedOver;
}

/**
 * The standby takes over once its replicas hold what this host's databases
 * hold. A replica can hold a transaction this host no longer has: a writer
 * killed between its commit and publishing it leaves frames Litestream ships,
 * and the next write here (Litestream's own) overwrites them. That replica can
 * never match, so it is replicated afresh from this host and the standby is
 * asked once more; a second refusal stands.
 */
async function handOver(config: AgentConfig, token: string, deadline: Deadline): Promise<HandedOver> {
    try {
        return await askToTakeOver(config, token, deadline);
    } catch (err) {
        if (!/replicas still behind/.test((err as Error).message)) throw err;
        log(`flip: the standby's replicas do not match this host's databases (${(err as Error).message}); replicating afresh from this host and asking once more`);
        log(`flip: ${await reseedReplicas(config, token, deadline)}`);
        await litestreamListening();
        log(`flip: shipped ${await shipFinalWrites(config, deadline)}`);
        return askToTakeOver(config, token, deadline);
    }
}

/** Emergency failover, or the acknowledgement of an automatic one (or of a switchover the primary already made). */
async function standbyServe(config: AgentConfig, now: number, deadline: Deadline): Promise<string> {
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
    const reason = `emergency failover: the config made the standby active; no heartbeat ${age === null ? "since this agent started" : `for ${age.toFixed(0)} s`}`;
    const takeover = await activate(config, reason, false, { primaryMustBeSilent: true }, deadline);
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
