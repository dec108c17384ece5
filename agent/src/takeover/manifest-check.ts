import * as fs from "node:fs";
import * as path from "node:path";
import { TENANT_ID_PATTERN } from "../../contract";
import type { ExportEntry } from "./export";
import { type FileEntry, VOLATILE } from "./file-handback";

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

/** An export's id names the primary's inbox directory for it and the suffix of a file kept beside the primary's copy. */
export function checkExportId(id: unknown): string {
    if (typeof id === "string" && /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(id)) return id;
    throw new ManifestRefused(`the standby names its export ${JSON.stringify(id)}, which is not a plain name; nothing was pulled or merged`);
}

const SHA256 = /^[0-9a-f]{64}$/;

/**
 * The hub's files the standby hands back (absent in exports made before files
 * were): each is installed on this host at the path its entry names, so each
 * must be an absolute path under one of the synced paths, never under /run,
 * with well-formed hashes and size. The mode is kept without setuid, setgid
 * or sticky bits. One entry out of bounds refuses the whole export.
 */
export function checkManifestFiles(files: unknown, syncedPaths: string[]): FileEntry[] {
    if (files === undefined) return [];
    if (!Array.isArray(files)) throw new ManifestRefused("the standby's export manifest lists its files in no list; nothing was merged");
    const problems = files.flatMap((entry, n) => fileProblemsOf(entry, n, syncedPaths));
    if (problems.length > 0) throw new ManifestRefused(`the standby's export manifest is refused, nothing was merged: ${problems.join("; ")}`);
    return (files as FileEntry[]).map((f) => ({ ...f, mode: f.mode & 0o777 }));
}

function fileProblemsOf(entry: unknown, n: number, syncedPaths: string[]): string[] {
    const { path: live, sha256, base, bytes, mode } = (entry ?? {}) as Partial<Record<keyof FileEntry, unknown>>;
    const problems: string[] = [];
    if (typeof live !== "string" || !isSyncedPath(live, syncedPaths)) {
        problems.push(`file ${n}: ${JSON.stringify(live)} is not a file under the synced paths (${syncedPaths.join(", ") || "none configured"})`);
    }
    if (typeof sha256 !== "string" || !SHA256.test(sha256) || !(base === null || (typeof base === "string" && SHA256.test(base)))) problems.push(`file ${n}: its hashes are not SHA-256 digests`);
    if (!Number.isSafeInteger(bytes) || (bytes as number) < 0) problems.push(`file ${n}: its size ${JSON.stringify(bytes)} is not a number of bytes`);
    if (!Number.isInteger(mode) || (mode as number) < 0 || (mode as number) > 0o7777) problems.push(`file ${n}: its mode ${JSON.stringify(mode)} is not a file mode`);
    return problems;
}

function isSyncedPath(live: string, syncedPaths: string[]): boolean {
    if (!live.startsWith("/") || live.endsWith("/") || path.posix.normalize(live) !== live || `${live}/`.startsWith(VOLATILE)) return false;
    return syncedPaths.some((root) => {
        const dir = path.posix.normalize(root).replace(/\/+$/, "");
        return !`${dir}/`.startsWith(VOLATILE) && (live === dir || live.startsWith(`${dir}/`));
    });
}

/**
 * What the pull brought into the inbox, checked before anything is merged: each
 * database copy and each file is a regular file there (not a link to one of this
 * host's files), and each file holds the content its hash names.
 */
export function checkPulled(inbox: string, entries: ExportEntry[], files: FileEntry[], filesDir: string, sha256Of: (file: string) => string): void {
    const problems: string[] = [];
    const regular = (file: string) => {
        try {
            return fs.lstatSync(file).isFile();
        } catch {
            return false;
        }
    };
    for (const e of entries) if (!regular(path.join(inbox, e.file))) problems.push(`${e.file} is not a regular file in the inbox`);
    for (const f of files) {
        const pulled = path.join(inbox, filesDir, f.path);
        if (!regular(pulled)) problems.push(`the copy of ${f.path} is not a regular file in the inbox`);
        else if (sha256Of(pulled) !== f.sha256) problems.push(`the copy of ${f.path} does not hold the content the manifest names`);
    }
    if (problems.length > 0) throw new ManifestRefused(`the standby's export is refused, nothing was merged: ${problems.join("; ")}`);
}
