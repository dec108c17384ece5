import { activate, Takeover, takeoverRecord, TAKEOVER } from "./activation";
import type { AgentConfig } from "../../contract";
import { readSecretFile } from "../core/config";
import { askStandby, callStandby, fingerprints, Handback, localPositions, mergeHandback, reseedReplicas, StandbyView } from "./handover";
import { ShipFailed, shipFinalWrites } from "../replication/litestream-sync";
import { log } from "../core/log";
import { readState, writeState } from "../core/state";
import { isActive, systemctl } from "../core/systemd";
import { HANDBACK } from "./takeover-api";
import { primaryDownAfterSeconds, primarySilenceSeconds } from "../heartbeat/primary-life";
import { serveWithoutStandby } from "../heartbeat/standby-unknown";

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

/** Failback: the standby stops and exports, its writes are merged here by key, replication starts over, then this host serves. */
async function primaryServe(config: AgentConfig): Promise<string> {
    if (isActive(config.units.connector)) return "the primary already serves";
    const standby = await askStandby(config);
    if ("unreachable" in standby) {
        // Its writes may be unmerged there: without its signed "no", only the witness (or the operator's override) lets this host serve.
        const why = standby.answered ? `the standby's answer to "do you serve?" cannot be trusted (${standby.unreachable})` : `the standby cannot be asked (${standby.unreachable})`;
        const verdict = await serveWithoutStandby(config, why, !standby.answered);
        if (!verdict.ok) throw new FlipRefused(verdict.reason);
        log(`flip: ${verdict.reason}`);
        return verdict.reason;
    }
    if (standby.activating && !standby.serving) {
        throw new FlipRefused("the standby is taking over right now (its watchdog or an emergency flip); run pulumi up -s primary again once it serves, after acknowledging it");
    }
    const token = readSecretFile(config.tokenFile);
    if (standby.serving) {
        const t = standby.takeover;
        if (t?.automatic && !t.acknowledged) {
            throw new FlipRefused(
                `the standby took over ${describeTakeover(t)} and the config was never flipped to acknowledge it; its writes since then exist only there. ` +
                    "Acknowledge first: pulumi config set wirebot:activeSide standby on both stacks, pulumi up -s standby; then fail back by setting it to primary again (pulumi up -s primary, then -s standby).",
            );
        }
        log("flip: the standby serves; asking it to stop and hand back what it took");
        const answer = (await callStandby(config, token, "/deactivate", { export: true })) as { handback: { id: string } };
        return finishFailback(config, token, answer.handback.id);
    }
    if (standby.handback && !standby.handback.merged) return finishFailback(config, token, standby.handback.id);
    return "the standby does not serve and has nothing unmerged";
}

async function finishFailback(config: AgentConfig, token: string, handbackId: string): Promise<string> {
    const merged = await mergeHandback(config, token, handbackId);
    log(`flip: merged the standby's export ${handbackId}: ${merged}`);
    const reseeded = await reseedReplicas(config, token);
    log(`flip: ${reseeded}`);
    return `failback: merged ${merged}; ${reseeded}`;
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
    const handback = readState<Handback>(config.stateDir, HANDBACK);
    if (handback && !handback.merged) {
        throw new FlipRefused(`this standby's export ${handback.id} is not merged into the primary yet: run pulumi up -s primary (it merges it), then pulumi up -s standby`);
    }
    return "the standby does not serve";
}
