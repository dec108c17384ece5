import * as hcloud from "@pulumi/hcloud";
import { ConfigError, NAMESPACE } from "./config";

type ServerTypes = Awaited<ReturnType<typeof hcloud.getServerTypes>>["serverTypes"];

/**
 * Hetzner does not offer every server type in every location, and that changes
 * over time, so the choice is checked against the live catalogue at preview.
 */
export async function checkServerTypeOffered(serverType: string, location: string): Promise<void> {
    const { serverTypes } = await hcloud.getServerTypes();
    const problem = serverTypeProblem(serverTypes, serverType, location);
    if (problem) throw new ConfigError([problem]);
}

export function serverTypeProblem(serverTypes: ServerTypes, serverType: string, location: string): string | undefined {
    const key = `${NAMESPACE}:standby.hetzner`;
    const offeredAt = (loc: string) =>
        serverTypes
            .filter((t) => !t.isDeprecated && t.locations.some((l) => l.name === loc && l.available))
            .map((t) => t.name)
            .sort();
    const chosen = serverTypes.find((t) => t.name === serverType);
    if (!chosen) {
        return `${key}.serverType: bad value "${serverType}": Hetzner has no such server type; types at ${location}: ${offeredAt(location).join(", ") || "none"}`;
    }
    const here = chosen.locations.find((l) => l.name === location);
    if (here?.available && !chosen.isDeprecated) return undefined;
    const elsewhere = chosen.locations.filter((l) => l.available).map((l) => l.name).sort();
    return (
        `${key}.serverType: bad value "${serverType}": not offered at location ${location}; ` +
        `${serverType} is offered at: ${elsewhere.join(", ") || "no location"}; ` +
        `${location} offers: ${offeredAt(location).join(", ") || "no types"}. ` +
        `Fix with: pulumi config set --path ${key}.location <location> or ${key}.serverType <type>`
    );
}
