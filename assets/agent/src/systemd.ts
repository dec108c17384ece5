import { execFileSync } from "node:child_process";

/** Runs systemctl, failing with its error; returns the units acted on, for step details. */
export function systemctl(...args: string[]): string {
    execFileSync("systemctl", args, { stdio: ["ignore", "pipe", "pipe"], timeout: 120_000 });
    return args.slice(1).join(" ");
}

/**
 * Whether a unit has been started and not stopped: active, or restarting after
 * its main process ran (a connector that cannot reach the edge exits and is
 * restarted by systemd, and connects as soon as the edge answers, so it counts
 * as serving). A unit whose start is refused before its main process runs (the
 * may-serve guard in ExecStartPre) does not count. When systemd cannot be
 * asked this throws: neither answer would be safe for every caller.
 */
export function isActive(unit: string): boolean {
    const show = execFileSync("systemctl", ["show", "-p", "ActiveState,InactiveExitTimestampMonotonic,ExecMainStartTimestampMonotonic", unit], { encoding: "utf8", timeout: 30_000 });
    return startedFromShow(show);
}

/** The decision of isActive from `systemctl show` output (Key=Value lines). */
export function startedFromShow(show: string): boolean {
    const props = Object.fromEntries(show.trim().split("\n").map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
    if (props.ActiveState === "active" || props.ActiveState === "reloading") return true;
    if (props.ActiveState !== "activating") return false;
    const left = Number(props.InactiveExitTimestampMonotonic ?? 0);
    const ran = Number(props.ExecMainStartTimestampMonotonic ?? 0);
    return ran > 0 && ran >= left;
}

function query(verb: string, unit: string): string {
    try {
        return execFileSync("systemctl", [verb, unit], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    } catch (err) {
        const out = (err as { stdout?: string }).stdout;
        return out ? out.trim() : "unknown";
    }
}

export function unitStates(units: string[]): Record<string, { active: string; enabled: string }> {
    return Object.fromEntries(units.map((u) => [u, { active: query("is-active", u), enabled: query("is-enabled", u) }]));
}
