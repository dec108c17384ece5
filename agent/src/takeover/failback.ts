import * as os from "node:os";
import type { AgentConfig } from "../../contract";
import { alerterFromFile } from "../monitoring/alerts";
import { readSecretFile } from "../core/config";
import { Deadline } from "../core/deadline";
import { log } from "../core/log";
import { readState, removeState, writeState } from "../core/state";
import { isActive } from "../core/systemd";
import { describeTakeover, FlipRefused, ServedWithDebt } from "./refusals";
import { awaitsMerge, type Handback } from "./handback-record";
import { askStandby, callStandby, describeUnheard, mergeHandback, STANDBY_CALL_TIMEOUT_MS } from "./handover";
import { serveWithoutStandby } from "../heartbeat/standby-unknown";
import * as reseed from "./reseed";

/**
 * Failback: the standby stops and hands back what it wrote, that is merged here
 * by key, replication starts over, then this host serves. The standby is always
 * asked to hand back, serving or not: only it knows whether it took writes since
 * its last export, or left one halfway.
 */
export async function failBack(config: AgentConfig, deadline: Deadline): Promise<string> {
    const standby = await askStandby(config);
    const servingHere = isActive(config.units.connector);
    if ("unreachable" in standby) return servingHere ? "the primary already serves" : serveUnheard(config, standby);
    if (standby.activating && !standby.serving) {
        throw new FlipRefused("the standby is taking over right now (its watchdog or an emergency flip); run pulumi up -s primary again once it serves, after acknowledging it");
    }
    const token = readSecretFile(config.tokenFile);
    if (servingHere) {
        // A fire drill whose merge failed serves the primary with the export left unmerged: merge it now.
        if (standby.serving || !awaitsMerge(standby.handback)) return reseedIfOwed(config, token, deadline, "the primary already serves");
        return reseedIfOwed(config, token, deadline, `the primary already serves; ${await mergePending(config, token, deadline)}`);
    }
    const t = standby.takeover;
    if (standby.serving && t?.automatic && !t.acknowledged) {
        throw new FlipRefused(
            `the standby took over ${describeTakeover(t)} and the config was never flipped to acknowledge it; its writes since then exist only there. ` +
                "Acknowledge first: pulumi config set wirebot:activeSide standby on both stacks, pulumi up -s standby; then fail back by setting it to primary again (pulumi up -s primary, then -s standby).",
        );
    }
    log(standby.serving ? "flip: the standby serves; asking it to stop and hand back what it took" : "flip: asking the standby to hand back anything it has not");
    const merged = await mergePending(config, token, deadline, true);
    if (merged === NOTHING_UNMERGED && !reseed.owed(config)) return "the standby does not serve and has nothing unmerged";
    return reseedIfOwed(config, token, deadline, `failback: ${merged}`);
}

const NOTHING_UNMERGED = "nothing unmerged";

/** Has the standby stop and finish its export (or name the one it has), and merges it here; a failback then owes the replicas a fresh start. */
async function mergePending(config: AgentConfig, token: string, deadline: Deadline, failback = false): Promise<string> {
    const handBack = (ms: number) => callStandby(config, token, "/deactivate", { export: true }, ms);
    const started = Date.now();
    const answer = (await deadline.within("the standby's hand-back", STANDBY_CALL_TIMEOUT_MS, handBack)) as { handback: Handback | null };
    const handback = answer.handback;
    if (!awaitsMerge(handback)) return NOTHING_UNMERGED;
    log(`flip: the standby stopped and exported ${handback.exported.length} databases in ${Date.now() - started} ms`);
    if (failback) reseed.owe(config, handback.id);
    const merged = await mergeHandback(config, token, handback, deadline);
    log(`flip: merged the standby's export ${handback.id}: ${merged}`);
    return `merged ${merged}`;
}

/**
 * Without the standby's signed word the primary knows neither whether the
 * standby serves nor whether it served and holds writes the primary lacks. Two
 * answers are needed, and neither stands in for the other: that nobody else
 * serves (the witness shows it, or the operator's override-serve says it; see
 * standby-unknown.ts), and that the standby's writes are given up (only the
 * operator says that: forget-standby, good for one flip). "Cannot tell" is
 * neither; the refusal names each answer still missing.
 */
async function serveUnheard(config: AgentConfig, standby: { unreachable: string; answered: boolean }): Promise<string> {
    const why = describeUnheard(standby);
    // The witness is not asked over a standby that answered: something there answers, and not as the standby.
    const verdict = await serveWithoutStandby(config, why, !standby.answered);
    const forgotten = readState<{ at: string }>(config.stateDir, STANDBY_FORGOTTEN);
    if (!forgotten) {
        const serving = verdict.ok ? `${verdict.reason}, but` : `${verdict.reason}. Besides,`;
        throw new FlipRefused(
            `${serving} the standby may have served, and the primary would serve without what it wrote. ` +
                `Bring the standby's agent back${standby.answered ? " (or fix what the message names: the heartbeat token, the clocks)" : ""}, then run pulumi up -s primary again. ` +
                "If the standby is lost for good, and its writes with it: run wirebot-failover forget-standby on the primary, then pulumi up -s primary",
        );
    }
    if (!verdict.ok) throw new FlipRefused(`${verdict.reason} (the operator's forget-standby of ${forgotten.at} stands for the next flip)`);
    removeState(config.stateDir, STANDBY_FORGOTTEN);
    log(`flip: ${verdict.reason}; serving without the standby's writes, as the operator decided at ${forgotten.at}`);
    return `${verdict.reason}; serving without its writes, as decided at ${forgotten.at} (wirebot-failover forget-standby)`;
}

const ALERT_FLUSH_MS = 5000;

/**
 * Replication starts over once the standby's writes are merged. If it cannot
 * (Litestream will not start, the standby cannot empty its replicas), the
 * merge is still done and this host serves: the step fails after starting the
 * services, and the debt stays recorded for the next run to pay.
 */
async function reseedIfOwed(config: AgentConfig, token: string, deadline: Deadline, done: string): Promise<string> {
    if (!reseed.owed(config)) return done;
    try {
        const reseeded = await reseed.reseedReplicas(config, token, deadline);
        log(`flip: ${reseeded}`);
        return `${done}; ${reseeded}`;
    } catch (err) {
        const why = oneLine((err as Error).message);
        const alerter = alerterFromFile(config.alertWebhookUrlFile, log);
        alerter.send(`[${os.hostname()}] failback: replication did not start again: ${why}`);
        await alerter.flush(ALERT_FLUSH_MS);
        throw new ServedWithDebt(
            `${done}; but replication did not start again: ${why}. ` +
                "This host serves without a replica on the standby until it does: fix the cause (journalctl -u wirebot-litestream), then run pulumi up -s primary again, which replicates afresh",
        );
    }
}

/** A command's error (its stderr after the command line) as one sentence. */
function oneLine(message: string): string {
    return message
        .split("\n")
        .map((l) => l.trim())
        .filter(Boolean)
        .join(": ")
        .replace(/\.$/, "");
}

export const STANDBY_FORGOTTEN = "standby-forgotten.json";

/** The operator's word that the standby is lost, and what it wrote with it: the next failback flip serves without asking it. */
export function forgetStandby(config: AgentConfig): string {
    if (config.role !== "primary") throw new FlipRefused("forget-standby is run on the primary");
    writeState(config.stateDir, STANDBY_FORGOTTEN, { at: new Date().toISOString() });
    return (
        "the next pulumi up -s primary serves without the standby's writes: anything the standby wrote and the primary lacks is given up. " +
        "It still starts this host only when the witness shows nobody else serving, or after wirebot-failover override-serve"
    );
}
