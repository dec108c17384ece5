import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { ConfigError } from "../config/settings";
import { ARCHITECTURES, primarySchema, SERVICE_NAMES, SIDES } from "../config/schema";
import type { ServiceSpec } from "../render/service-units";

// The contract between stacks: what the primary and standby stacks export for
// the stacks that read them. Each reader checks what it reads against these.

export const primaryHostOutput = z.object({
    host: z.string(),
    port: z.number().int(),
    user: z.string(),
    hostKey: z.string(),
    arch: z.enum(ARCHITECTURES),
});
export type PrimaryHostOutput = z.infer<typeof primaryHostOutput>;

const serviceSpec: z.ZodType<ServiceSpec> = z.object({
    name: z.enum(SERVICE_NAMES),
    unit: z.string(),
    port: z.number().int(),
    enabled: z.boolean().optional(),
    execStart: z.string(),
    user: z.string(),
    workingDirectory: z.string().optional(),
    environmentFile: z.string().optional(),
});

/** The tunnel's witness route: its URL, and the port of the agents it reaches on the serving host. */
export const witnessRouteOutput = z.object({ url: z.string(), agentPort: z.number().int() });
export type WitnessRouteOutput = z.infer<typeof witnessRouteOutput>;

/** The primary stack's plain outputs that other stacks read; its secret ones are read with requireOutput. */
export const primaryOutputs = z.object({
    /** What the primary stack last recorded as the active side. */
    activeSide: z.enum(SIDES).optional(),
    paths: primarySchema.shape.paths,
    services: z.array(serviceSpec),
    primaryHost: primaryHostOutput,
    ingressHostnames: z.array(z.string()),
    witness: witnessRouteOutput,
});

export const standbyOutputs = z.object({
    standbyHost: z.object({ port: z.number().int(), user: z.string() }),
    standbyArch: z.enum(ARCHITECTURES),
});

/**
 * Reads the outputs a schema names from a referenced stack and checks them. A
 * missing output means that stack has not been brought up yet: `missing` says
 * what to run.
 */
export async function readStackOutputs<S extends z.ZodObject>(
    ref: pulumi.StackReference,
    stackName: string,
    schema: S,
    missing: (key: string) => string,
): Promise<z.infer<S>> {
    const values: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(schema.shape)) {
        const details = await ref.getOutputDetails(key);
        const value = details.value ?? details.secretValue;
        if (value === undefined && !(field as z.ZodType).safeParse(undefined).success) throw new ConfigError([missing(key)]);
        values[key] = value;
    }
    const parsed = schema.safeParse(values);
    if (!parsed.success) {
        const what = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
        throw new ConfigError([`stack ${stackName} has outputs this program cannot read (${what}); run pulumi up on that stack with this version first`]);
    }
    return parsed.data;
}
