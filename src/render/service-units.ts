import { SERVICE_DEFAULTS, SERVICE_NAMES, ServiceConfig, ServiceName } from "../config/schema";
import { readAsset, renderTemplate, sha256 } from "./templates";

export const CONNECTOR_UNIT = "cloudflared-wirebot.service";

export interface ServiceSpec extends ServiceConfig {
    name: ServiceName;
    unit: string;
    port: number;
}

export interface UnitFile {
    unit: string;
    content: string;
}

/** The services the hub runs: 001's default set, with the operator's overrides. */
export function resolveServices(overrides: Record<string, Partial<ServiceConfig>>): ServiceSpec[] {
    return SERVICE_NAMES.map((name) => {
        const { unit, enabled, execStart, ...defaults } = SERVICE_DEFAULTS[name];
        const override = overrides[name] ?? {};
        const port = override.port ?? defaults.port;
        return {
            ...defaults,
            ...override,
            port,
            execStart: override.execStart ?? execStart(port),
            enabled: override.enabled ?? enabled,
            name,
            unit: `${unit}.service`,
        };
    }).filter((s) => s.enabled);
}

// Podman manages its own namespaces and devices, so Letta runs without the sandbox.
const UNSANDBOXED: ServiceName[] = ["letta"];

/**
 * Directives of host/systemd/hardening.conf that a service cannot run under,
 * each with why (rendered into its unit as a comment where the directive would
 * be). Every other directive of the file applies to it. Found by starting the
 * real program under the rendered unit, not by guessing.
 */
export const HARDENING_EXCEPTIONS: Partial<Record<ServiceName, Record<string, string[]>>> = {
    gateway: {
        RestrictSUIDSGID: [
            "seccomp cannot see the mode inside openat2()'s arguments, so this directive's",
            "filter makes every openat2() fail with ENOSYS. OpenClaw takes its gateway lock",
            "with openat2(RESOLVE_BENEATH) and has no fallback for it: it exits with",
            "'failed to acquire gateway lock ... openat2 beneath root: Function not",
            "implemented (os error 38)' and crash-loops. NoNewPrivileges=yes still keeps",
            "set-uid and set-gid bits from granting this service anything.",
        ],
    },
};

/** hardening.conf for one service: its exceptions left out, with the reason in their place. */
export function serviceHardening(name: ServiceName): string {
    if (UNSANDBOXED.includes(name)) return "";
    const exceptions = HARDENING_EXCEPTIONS[name] ?? {};
    const lines = readAsset("systemd/hardening.conf").trimEnd().split("\n");
    const known = new Set(lines.map((line) => line.split("=")[0]));
    for (const directive of Object.keys(exceptions)) {
        if (!known.has(directive)) throw new Error(`hardening exception for ${name}: ${directive} is not in hardening.conf`);
    }
    return lines
        .flatMap((line) => {
            const why = exceptions[line.split("=")[0]];
            if (!why) return [line];
            return [`# ${line.split("=")[0]}= is left out for ${name}:`, ...why.map((w) => `#   ${w}`)];
        })
        .join("\n");
}

export function renderServiceUnit(service: ServiceSpec): UnitFile {
    const content = renderTemplate("systemd/service.service", {
        unit: service.unit,
        description: `${service.name} (:${service.port})`,
        user: service.user,
        // A literal '%' in the command; systemd would take it for a specifier (%h, %n, ...).
        execStart: service.execStart.replaceAll("%", "%%"),
        workingDirectory: service.workingDirectory ? `WorkingDirectory=${service.workingDirectory}` : "",
        environmentFile: service.environmentFile ? `EnvironmentFile=-${service.environmentFile}` : "",
        hardening: serviceHardening(service.name),
    });
    return { unit: service.unit, content };
}

export function connectorUnit(): UnitFile {
    return { unit: CONNECTOR_UNIT, content: readAsset(`systemd/${CONNECTOR_UNIT}`) };
}

/** `unit=hash` pairs: the serving step restarts exactly the units whose files changed. */
export function unitRevisions(files: { unit: string; content: string }[]): string {
    return files.map((f) => `${f.unit}=${sha256(f.content).slice(0, 16)}`).join(" ");
}
