import type { StandbyView } from "./handover";

/** A flip in an unsafe order or state: refused with the reason and what to run, nothing changed. */
export class FlipRefused extends Error {}

export function describeTakeover(t: StandbyView["takeover"]): string {
    return t ? `${t.automatic ? "automatically " : ""}at ${t.at} (${t.reason})` : "";
}
