import type { StandbyView } from "./handover";

/** A flip in an unsafe order or state: refused with the reason and what to run, nothing changed. */
export class FlipRefused extends Error {}

/**
 * The flip's own work is done and this host is to serve, but something it owes
 * is left undone (replication did not start again). The serving step starts the
 * services, then fails with this message, so the next pulumi up runs the flip
 * again and finishes it.
 */
export class ServedWithDebt extends Error {}

export function describeTakeover(t: StandbyView["takeover"]): string {
    return t ? `${t.automatic ? "automatically " : ""}at ${t.at} (${t.reason})` : "";
}
