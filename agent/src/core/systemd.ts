import { execFile, execFileSync } from "node:child_process";

/** Runs systemctl, failing with its error; returns the units acted on, for step details. */
export function systemctl(...args: string[]): string {
    execFileSync("systemctl", args, { stdio: ["ignore", "pipe", "pipe"], timeout: 120_000 });
    return args.slice(1).join(" ");
}

export function isActive(unit: string): boolean {
    try {
        execFileSync("systemctl", ["is-active", "--quiet", unit]);
        return true;
    } catch {
        return false;
    }
}

/**
 * isActive read afresh without blocking the event loop, for an answer the
 * other host acts on. Like isActive, a unit systemctl does not call active is
 * not; but a systemctl that hangs past the limit fails the question, which is
 * no "not active".
 */
export function isActiveNow(unit: string, timeoutMs = 10_000): Promise<boolean> {
    return new Promise((resolve, reject) => {
        execFile("systemctl", ["is-active", "--quiet", unit], { timeout: timeoutMs }, (err) => {
            if (err && (err as { killed?: boolean }).killed) return reject(new Error(`systemctl is-active ${unit} gave no answer within ${timeoutMs / 1000} s`));
            resolve(!err);
        });
    });
}

export function isEnabled(unit: string): boolean {
    return query("is-enabled", unit) === "enabled";
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
