import type { AgentConfig } from "../../contract";
import { readState, writeState } from "../core/state";

/**
 * The operator's deliberate "start anyway", for a primary that cannot learn
 * whether the standby serves: the standby cannot be asked or gave no answer to
 * trust, and the witness cannot tell. Written by hand on the host and lapsing
 * on its own, so it never outlives the situation it was given for.
 */
export const SERVE_OVERRIDE = "serve-override.json";
export const OVERRIDE_MINUTES = 15;

export const HOW_TO_OVERRIDE =
    "if you know that the standby does not serve, allow this host deliberately: run wirebot-failover override-serve on it " +
    `(valid ${OVERRIDE_MINUTES} minutes), then start again (systemctl start the unit, or pulumi up -s primary)`;

export function grantOverride(config: AgentConfig, minutes: number, nowMs: number): string {
    const until = new Date(nowMs + minutes * 60_000).toISOString();
    writeState(config.stateDir, SERVE_OVERRIDE, { at: new Date(nowMs).toISOString(), until });
    return until;
}

/** When the override lapses, or null when there is none in force. */
export function overrideUntil(config: AgentConfig, nowMs: number): string | null {
    const until = readState<{ until?: string }>(config.stateDir, SERVE_OVERRIDE)?.until;
    return until && Date.parse(until) > nowMs ? until : null;
}
