import type { AgentConfig } from "../../contract";
import { readSecretFile } from "../core/config";
import { ASK_TIMEOUT_MS, callStandby } from "../takeover/handover";
import { UntrustedAnswer } from "./signed-call";

interface ClaimAnswer {
    granted?: boolean;
    serving?: boolean;
    activating?: boolean;
    takeover?: { at: string } | null;
}

/**
 * Run before the connector or a service starts on the primary: a primary that
 * comes back after the standby took over, or while it is taking over, must not
 * serve beside it. The question is a signed claim, which the standby also takes
 * as a sign of life, so it does not start an activation right after granting
 * it. An unreachable standby does not block the primary, which is the
 * configured active side; the standby's own activation asks the witness.
 */
export async function mayServe(config: AgentConfig, unit = "unknown"): Promise<{ ok: boolean; reason: string }> {
    if (config.role !== "primary") return { ok: true, reason: "the standby's activation consults the witness itself" };
    let answer: ClaimAnswer;
    try {
        answer = (await callStandby(config, readSecretFile(config.tokenFile), "/claim", { unit }, ASK_TIMEOUT_MS)) as ClaimAnswer;
    } catch (err) {
        if (err instanceof UntrustedAnswer) return { ok: false, reason: `${err.message}; this host stays off` };
        return { ok: true, reason: `the standby cannot be asked (${(err as Error).message}); the primary is the configured active side` };
    }
    if (answer.granted) return { ok: true, reason: "the standby does not serve" };
    if (answer.activating && !answer.serving) return { ok: false, reason: "the standby is taking over right now; this host stays off until the config makes the primary active again (fail back)" };
    const since = answer.takeover ? ` since ${answer.takeover.at}` : "";
    return { ok: false, reason: `the standby serves${since}; this host stays off until the config makes the primary active again (fail back)` };
}
