import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { AgentConfig } from "../../contract";
import { runCommand as run } from "../core/command";

export interface Database {
    live: string;
    replica: string;
}

/** Every live database and its replica: the configured ones and each tenant's events.db. */
export function databasesOf(config: AgentConfig): Database[] {
    const found = config.databases.map((db) => ({ live: db.path, replica: db.replica }));
    const tenantsReplica = config.tenantsReplicaDir;
    for (const tenant of listDirs(config.tenantsDir)) {
        const live = path.posix.join(config.tenantsDir, tenant, "events.db");
        if (fs.existsSync(live)) found.push({ live, replica: path.posix.join(tenantsReplica, tenant, "events.db") });
    }
    for (const tenant of listDirs(tenantsReplica)) {
        const live = path.posix.join(config.tenantsDir, tenant, "events.db");
        if (!found.some((db) => db.live === live)) found.push({ live, replica: path.posix.join(tenantsReplica, tenant, "events.db") });
    }
    return found;
}

function listDirs(dir: string): string[] {
    try {
        return fs.readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
    } catch {
        return [];
    }
}

/**
 * What a database holds, table by table: its rows and a SHA3 hash of their
 * content in column order, as JSON: {"table": "rows:hash", ...} in table order.
 * Equal on two hosts exactly when they hold the same rows. Litestream's own
 * bookkeeping tables (_litestream_seq, _litestream_lock) are left out: Litestream
 * writes them on each host by itself and does not ship a change that touches
 * nothing else, so they say nothing about the application's writes.
 */
export async function fingerprint(file: string): Promise<string | null> {
    if (!fs.existsSync(file)) return null;
    const listing = await sqlite(
        file,
        "SELECT name, (SELECT count(*) FROM pragma_table_info(s.name)) AS columns FROM sqlite_schema AS s WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE '\\_litestream\\_%' ESCAPE '\\' ORDER BY name;",
        ["-json"],
    );
    const tables = (listing ? JSON.parse(listing) : []) as { name: string; columns: number }[];
    if (tables.length === 0) return "{}";
    const script = tables
        .map(({ name, columns }) => `SELECT count(*) || ':' || lower(hex(sha3_query(${sqlString(`SELECT * FROM ${sqlName(name)} ORDER BY ${columnList(columns)}`)}))) FROM ${sqlName(name)};`)
        .join("\n");
    const lines = (await sqlite(file, script)).split("\n").filter(Boolean);
    return JSON.stringify(Object.fromEntries(tables.map((t, i) => [t.name, lines[i]])));
}

/**
 * The fingerprint of what the database holds durably: every transaction
 * committed to its WAL, as crash recovery (and Litestream, which reads the WAL
 * itself) sees it. A writer killed between writing its commit frame and
 * publishing it in the shared wal-index leaves a transaction that readers of
 * the live file do not see while another connection (Litestream's) keeps that
 * index open, yet Litestream ships it. A copy without the index is recovered
 * from the WAL alone, so it is compared with the replica on equal terms.
 */
export async function durableFingerprint(file: string): Promise<string | null> {
    if (!fs.existsSync(file)) return null;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wirebot-durable-"));
    try {
        const copy = path.join(dir, path.basename(file));
        copyWithWal(file, copy);
        // Read-write once, so recovery can rebuild the index and fold the WAL in.
        await run("sqlite3", [copy], "PRAGMA wal_checkpoint(TRUNCATE);\n");
        return await fingerprint(copy);
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

const COPY_ATTEMPTS = 5;

/** The database file, then its WAL; tried again if the WAL was restarted (its salt changed) in between. */
function copyWithWal(file: string, copy: string): void {
    for (let attempt = 1; attempt <= COPY_ATTEMPTS; attempt++) {
        const before = walSalt(file);
        fs.copyFileSync(file, copy, fs.constants.COPYFILE_FICLONE);
        if (before !== null) fs.copyFileSync(`${file}-wal`, `${copy}-wal`, fs.constants.COPYFILE_FICLONE);
        if (walSalt(file) === before) return;
        fs.rmSync(`${copy}-wal`, { force: true });
    }
    throw new Error(`${file}: its WAL kept restarting while it was copied; is something still writing to it?`);
}

/** Bytes 16-23 of the WAL header change whenever the WAL starts over. */
function walSalt(file: string): string | null {
    let fd: number;
    try {
        fd = fs.openSync(`${file}-wal`, "r");
    } catch {
        return null;
    }
    try {
        const header = Buffer.alloc(8);
        return fs.readSync(fd, header, 0, 8, 16) === 8 ? header.toString("hex") : "short";
    } finally {
        fs.closeSync(fd);
    }
}

const sqlName = (name: string) => `"${name.replace(/"/g, '""')}"`;
const sqlString = (text: string) => `'${text.replace(/'/g, "''")}'`;
const columnList = (columns: number) => Array.from({ length: Math.max(columns, 1) }, (_, i) => String(i + 1)).join(", ");

function sqlite(file: string, script: string, flags: string[] = []): Promise<string> {
    return run("sqlite3", [...flags, "-readonly", file], script).then((out) => out.trim());
}

/** Which tables differ between two fingerprints, with their row counts: what a refusal tells the operator. */
export function fingerprintDifference(expected: string | null, actual: string | null): string {
    if (expected === null || actual === null) return expected === actual ? "" : `${expected === null ? "no database on the primary" : "no replica"}`;
    const parse = (f: string) => new Map(Object.entries(JSON.parse(f) as Record<string, string>));
    const want = parse(expected);
    const have = parse(actual);
    const rows = (v: string | undefined) => (v === undefined ? "absent" : `${v.split(":")[0]} rows`);
    return [...new Set([...want.keys(), ...have.keys()])]
        .filter((t) => want.get(t) !== have.get(t))
        .map((t) => `${t}: primary ${rows(want.get(t))}, replica ${rows(have.get(t))}${want.has(t) && have.has(t) && rows(want.get(t)) === rows(have.get(t)) ? " (same count, other content)" : ""}`)
        .join("; ");
}
