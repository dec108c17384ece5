import { execFile } from "node:child_process";

/** How long one reading of the units' states answers every question. */
export const UNIT_STATES_FRESH_MS = 1000;
const SYSTEMCTL_TIMEOUT_MS = 5000;

/**
 * The active state of a fixed set of units, as `systemctl is-active` gives it
 * (active, inactive, failed, activating, ...; `unknown` when systemctl cannot
 * tell), read with one asynchronous systemctl call for all of them, at most
 * once a second and never twice at a time, however many ask. The status API,
 * the metrics, the witness route and the heartbeats read it: no question from
 * anyone makes systemctl run once more, nor blocks the event loop that takes
 * heartbeats. Answers the primary acts on (GET /serving, a claim) read
 * systemd afresh instead.
 */
export class UnitStates {
    private reading: { at: number; done: boolean; states: Promise<Record<string, string>> } | undefined;

    constructor(
        private readonly units: string[],
        private readonly now: () => number = Date.now,
        private readonly freshMs = UNIT_STATES_FRESH_MS,
    ) {}

    states(): Promise<Record<string, string>> {
        const now = this.now();
        const last = this.reading;
        if (last && (!last.done || now - last.at < this.freshMs)) return last.states;
        const reading = { at: now, done: false, states: readActive(this.units) };
        void reading.states.then(() => (reading.done = true));
        this.reading = reading;
        return reading.states;
    }

    async active(unit: string): Promise<string> {
        return (await this.states())[unit] ?? "unknown";
    }

    async isActive(unit: string): Promise<boolean> {
        return (await this.active(unit)) === "active";
    }
}

/** One `systemctl is-active` for every unit: a line each, in order (its status is not 0 when one is not active). */
function readActive(units: string[]): Promise<Record<string, string>> {
    return new Promise((resolve) => {
        execFile("systemctl", ["is-active", ...units], { timeout: SYSTEMCTL_TIMEOUT_MS, encoding: "utf8" }, (_err, stdout) => {
            const lines = (stdout ?? "").split("\n").map((l) => l.trim()).filter(Boolean);
            resolve(Object.fromEntries(units.map((u, i) => [u, lines.length === units.length ? lines[i] : "unknown"])));
        });
    });
}
