import type { AgentConfig } from "../../contract";
import { readSecretFile } from "../core/config";
import { ASK_TIMEOUT_MS } from "../takeover/handover";
import { Answer, signedCall, Unreachable } from "./signed-call";
import { serveWithoutStandby, ServeVerdict } from "./standby-unknown";

interface ClaimAnswer {
    granted?: boolean;
    serving?: boolean;
    activating?: boolean;
    takeover?: { at: string } | null;
    error?: string;
}

/**
 * Run before the connector or a service starts on the primary: a primary that
 * comes back after the standby took over, or while it is taking over, must not
 * serve beside it. The question is a signed claim, which the standby also takes
 * as a sign of life, so it does not start an activation right after granting
 * it. Only the standby's signed grant, or (when it cannot be asked) a witness
 * showing nobody else serving, lets the unit start; every other outcome,
 * refusals, errors and answers that cannot be trusted included, keeps it off.
 */
export async function mayServe(config: AgentConfig, unit = "unknown"): Promise<ServeVerdict> {
    if (config.role !== "primary") return { ok: true, reason: "the standby's activation consults the witness itself" };
    let answer: Answer<ClaimAnswer>;
    try {
        answer = await signedCall<ClaimAnswer>(readSecretFile(config.tokenFile), config.peer, "POST", "/claim", { unit }, ASK_TIMEOUT_MS);
    } catch (err) {
        const unreachable = err instanceof Unreachable;
        return serveWithoutStandby(config, unreachable ? `the standby cannot be asked (${(err as Error).message})` : (err as Error).message, unreachable);
    }
    if (answer.status !== 200) return serveWithoutStandby(config, `the standby did not take the claim (HTTP ${answer.status}: ${answer.body.error ?? "no detail"})`, false);
    if (answer.body.granted === true) return { ok: true, reason: "the standby does not serve" };
    if (answer.body.activating && !answer.body.serving) return { ok: false, reason: "the standby is taking over right now; this host stays off until the config makes the primary active again (fail back)" };
    const since = answer.body.takeover ? ` since ${answer.body.takeover.at}` : "";
    return { ok: false, reason: `the standby serves${since}; this host stays off until the config makes the primary active again (fail back)` };
}
