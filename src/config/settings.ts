import type * as pulumi from "@pulumi/pulumi";
import type { z } from "zod";
import type { Architecture, primarySchema, standbySchema, tenantSchema, TunnelCredentials } from "./schema";
import type { ServiceSpec } from "../render/service-units";

export const NAMESPACE = "wirebot";

export type Role = "primary" | "standby" | "tenant";
export type PrimaryConfig = z.infer<typeof primarySchema>;
export type StandbyConfig = z.infer<typeof standbySchema>;
export type TenantConfig = z.infer<typeof tenantSchema>;

export interface PrimarySettings {
    role: "primary";
    config: PrimaryConfig;
    /** The enabled services with the operator's overrides: what the units run and the tunnel routes to. */
    services: ServiceSpec[];
    primarySshKey: pulumi.Output<string>;
    /** Present when the tunnel is adopted. */
    tunnelCredentials?: pulumi.Output<TunnelCredentials>;
}

export interface StandbySettings {
    role: "standby";
    config: StandbyConfig;
    standbySshKey: pulumi.Output<string>;
    /** The architecture the standby runs, from its server type or the existing host. */
    standbyArch: Architecture;
    heartbeatToken?: pulumi.Output<string>;
    alertWebhookUrl?: pulumi.Output<string>;
}

export interface TenantSettings {
    role: "tenant";
    config: TenantConfig;
    tenantSecrets: pulumi.Output<Record<string, string>>;
}

export type Settings = PrimarySettings | StandbySettings | TenantSettings;

/** One line per problem: the key, the bad value and what to do. */
export class ConfigError extends Error {
    constructor(readonly problems: string[]) {
        super(`invalid configuration:\n  ${problems.join("\n  ")}`);
        this.name = "ConfigError";
    }
}

/** Raw config as the engine hands it to the program, so tests can supply their own. */
export interface RawConfig {
    get(key: string): string | undefined;
    isSecret(key: string): boolean;
}
