import * as path from "node:path";
import { TENANT_ID_PATTERN } from "../../contract";
import type { ExportEntry } from "./export";

export class ManifestRefused extends Error {}

/** Where a merge may write: the configured databases, and each tenant's events.db directly under the tenants directory. */
export interface MergeTargets {
    databases: string[];
    tenantsDir: string;
}

/**
 * The standby's export manifest names, for each copy, its file in the inbox and
 * the live database it merges into; both come from the other host. Before
 * anything is merged, every file must be a plain name in the inbox and every
 * live path one this host's merge may write. One entry out of bounds refuses
 * the whole export.
 */
export function checkManifestEntries(entries: unknown, targets: MergeTargets): ExportEntry[] {
    if (!Array.isArray(entries)) throw new ManifestRefused("the standby's export manifest lists no entries; nothing was merged");
    const problems = entries.flatMap((entry, n) => problemsOf(entry, n, targets));
    if (problems.length > 0) throw new ManifestRefused(`the standby's export manifest is refused, nothing was merged: ${problems.join("; ")}`);
    return entries as ExportEntry[];
}

function problemsOf(entry: unknown, n: number, targets: MergeTargets): string[] {
    const { file, live } = (entry ?? {}) as Partial<Record<keyof ExportEntry, unknown>>;
    const problems: string[] = [];
    if (typeof file !== "string" || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(file)) problems.push(`entry ${n}: file ${JSON.stringify(file)} is not a plain file name in the inbox`);
    if (typeof live !== "string" || !isMergeTarget(live, targets)) {
        problems.push(`entry ${n}: ${JSON.stringify(live)} is neither a configured database nor ${targets.tenantsDir}/<tenant>/events.db`);
    }
    return problems;
}

function isMergeTarget(live: string, targets: MergeTargets): boolean {
    if (!live.startsWith("/") || path.posix.normalize(live) !== live) return false;
    if (targets.databases.includes(live)) return true;
    const [tenant, name, ...deeper] = path.posix.relative(targets.tenantsDir, live).split("/");
    return deeper.length === 0 && TENANT_ID_PATTERN.test(tenant) && name === "events.db";
}
