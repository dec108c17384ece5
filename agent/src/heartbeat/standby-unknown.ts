import * as os from "node:os";
import type { AgentConfig } from "../../contract";
import { readSecretFile } from "../core/config";
import { HOW_TO_OVERRIDE, overrideUntil } from "./serve-override";
import { askWitness } from "./witness";

const WITNESS_TIMEOUT_MS = 3000;

export interface ServeVerdict {
    ok: boolean;
    reason: string;
}

/**
 * The primary is about to serve and the standby gave no yes to go on: it could
 * not be asked (`askTheWitness`), or its answer cannot be trusted or was an
 * error (the witness is not asked over a standby that answered). Only a witness
 * showing nobody else serving lets the primary start; no witness, or one that
 * cannot tell, refuses, unless the operator has overridden it on this host.
 */
export async function serveWithoutStandby(config: AgentConfig, why: string, askTheWitness: boolean): Promise<ServeVerdict> {
    let unknown = why;
    if (askTheWitness && config.witness) {
        const answer = await askWitness(config.witness, WITNESS_TIMEOUT_MS, readSecretFile(config.tokenFile));
        if (answer.known && (answer.servingHost === null || answer.servingHost === os.hostname())) {
            return { ok: true, reason: `${why}; the witness shows ${answer.servingHost === null ? "nobody" : "this host"} serving` };
        }
        if (answer.known) return { ok: false, reason: `${why}, and the witness shows ${answer.servingHost} serving; this host stays off until the config makes the primary active again (fail back)` };
        unknown = `${why}, and the witness cannot tell who serves (${answer.why})`;
    } else if (askTheWitness) {
        unknown = `${why}, and no witness is configured (agent.witnessUrl) to tell whether the standby serves`;
    }
    const until = overrideUntil(config, Date.now());
    if (until) return { ok: true, reason: `${unknown}; starting under the operator's override (until ${until})` };
    return { ok: false, reason: `${unknown}; not starting: ${HOW_TO_OVERRIDE}` };
}
