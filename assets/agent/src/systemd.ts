import { execFileSync } from "node:child_process";

function systemctl(verb: string, unit: string): string {
    try {
        return execFileSync("systemctl", [verb, unit], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    } catch (err) {
        const out = (err as { stdout?: string }).stdout;
        return out ? out.trim() : "unknown";
    }
}

export function unitStates(units: string[]): Record<string, { active: string; enabled: string }> {
    return Object.fromEntries(units.map((u) => [u, { active: systemctl("is-active", u), enabled: systemctl("is-enabled", u) }]));
}
