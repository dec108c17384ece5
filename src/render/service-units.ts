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

export function renderServiceUnit(service: ServiceSpec): UnitFile {
    const content = renderTemplate("systemd/service.service", {
        unit: service.unit,
        description: `${service.name} (:${service.port})`,
        user: service.user,
        // A literal '%' in the command; systemd would take it for a specifier (%h, %n, ...).
        execStart: service.execStart.replaceAll("%", "%%"),
        workingDirectory: service.workingDirectory ? `WorkingDirectory=${service.workingDirectory}` : "",
        environmentFile: service.environmentFile ? `EnvironmentFile=-${service.environmentFile}` : "",
        hardening: UNSANDBOXED.includes(service.name) ? "" : readAsset("systemd/hardening.conf").trimEnd(),
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
