import * as hcloud from "@pulumi/hcloud";
import { ConfigError, NAMESPACE } from "./settings";

type ServerTypes = Awaited<ReturnType<typeof hcloud.getServerTypes>>["serverTypes"];
type ServerType = ServerTypes[number];
type Offer = ServerType["locations"][number];

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
            .filter((t) => orderable(t, offerAt(t, loc)))
            .map((t) => t.name)
            .sort();
    const fixType = `pulumi config set --path ${key}.serverType <one ${location} offers>`;
    const chosen = serverTypes.find((t) => t.name === serverType);
    if (!chosen) {
        return `${key}.serverType: bad value "${serverType}": Hetzner has no such server type; types at ${location}: ${offeredAt(location).join(", ") || "none"}. Fix with: ${fixType}`;
    }
    const offer = offerAt(chosen, location);
    if (orderable(chosen, offer)) return undefined;
    const elsewhere = chosen.locations.filter((l) => orderable(chosen, l)).map((l) => l.name).sort();
    return (
        `${key}.serverType: bad value "${serverType}": ${refusal(chosen, offer, location)}; ` +
        `${serverType} is offered at: ${elsewhere.join(", ") || "no location"}; ` +
        `${location} offers: ${offeredAt(location).join(", ") || "no types"}. ` +
        `Fix with: ${fixType}, or pulumi config set --path ${key}.location <one where ${serverType} is offered>`
    );
}

function offerAt(type: ServerType, location: string): Offer | undefined {
    return type.locations.find((l) => l.name === location);
}

// Since 2025-09-24 Hetzner flags deprecation per location; the type-wide flag is being phased out.
function orderable(type: ServerType, offer: Offer | undefined): boolean {
    return offer !== undefined && offer.available && !offer.isDeprecated && !type.isDeprecated;
}

function refusal(type: ServerType, offer: Offer | undefined, location: string): string {
    if (!offer) return `not offered at location ${location}`;
    if (type.isDeprecated || offer.isDeprecated) return `deprecated at location ${location}, so Hetzner is retiring it there`;
    return `temporarily unavailable at location ${location}`;
}
