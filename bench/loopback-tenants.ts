import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { litestreamConfig } from "../src/render/litestream-config";
import { maxStartups } from "../src/render/sshd-limits";
import type { PathsConfig } from "../src/config/schema";

// Litestream with N tenant databases against a private sshd on this machine's
// loopback, outside the lab: the product's Litestream config (three listed
// databases and the tenants' directory watch, one SFTP replica each, 1 s sync),
// an sshd of its own (own config, host key and port on 127.0.0.1) that lets a
// key in for internal-sftp only, as the standby's replica access does, with
// Debian's default MaxStartups or with the product's drop-in. Writes 1 row/s to
// each tenant database and 50/s to the main one, and measures whether Litestream
// starts, its RSS and CPU, the sshd processes' RSS and PSS, lag (a committed
// write to a `litestream restore` of the replica that holds it) on a sample of
// databases, and, once replication is stopped, how long restoring every tenant
// database takes one at a time and in parallel. Every process it starts is
// stopped before it exits; the scratch directory is removed unless --keep.
//
//   node --import tsx bench/loopback-tenants.ts --tenants 200 --sshd default|sized [--seconds 60]
//        [--warmup 10] [--attempts 3] [--pools 1,4,8,16] [--preauth 0] [--keep] [--json FILE]
//        [--fault sshd-restart|sshd-restart-default|garbage-tenant]
//
// --fault sshd-restart: halfway through, every sshd process is killed (all
// replication connections drop at once) and sshd starts again; measures whether
// Litestream survives and how long until every database ships again;
// sshd-restart-default: the same, sshd coming back with Debian's MaxStartups.
// --fault garbage-tenant: a tenant's events.db that is not SQLite, there before
// Litestream starts and another one appearing while it runs.
//
// Needs root (sshd), sshd (openssh-server), litestream and sqlite3 on PATH.

interface Options {
    tenants: number;
    sshd: "default" | "sized";
    seconds: number;
    warmup: number;
    attempts: number;
    pools: number[];
    preauth: number;
    fault?: "sshd-restart" | "sshd-restart-default" | "garbage-tenant";
    keep: boolean;
    json?: string;
}

const MAIN_DBS = ["users/verious/memory/verious.sqlite", "scoreboard/events.db", "mem0/history.db"];
const SCHEMA = `CREATE TABLE IF NOT EXISTS events (id TEXT PRIMARY KEY, tenant TEXT, kind TEXT,
    created_at TEXT DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')), payload TEXT)`;
const LAG_SAMPLES = 10;
const HARD_LIMIT_S = 900;

function log(line: string): void {
    process.stderr.write(`[loopback ${new Date().toISOString().slice(11, 23)}] ${line}\n`);
}

function parse(argv: string[]): Options {
    const o: Options = { tenants: 10, sshd: "default", seconds: 60, warmup: 10, attempts: 3, pools: [1, 4, 8, 16], preauth: 0, keep: false };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        const next = () => argv[++i];
        if (a === "--tenants") o.tenants = Number(next());
        else if (a === "--sshd") o.sshd = next() as Options["sshd"];
        else if (a === "--seconds") o.seconds = Number(next());
        else if (a === "--warmup") o.warmup = Number(next());
        else if (a === "--attempts") o.attempts = Number(next());
        else if (a === "--pools") o.pools = next().split(",").map(Number).filter((n) => n > 0);
        else if (a === "--preauth") o.preauth = Number(next());
        else if (a === "--fault") o.fault = next() as Options["fault"];
        else if (a === "--keep") o.keep = true;
        else if (a === "--json") o.json = next();
        else throw new Error(`unknown argument ${a}`);
    }
    if (!["default", "sized"].includes(o.sshd)) throw new Error("--sshd must be default or sized");
    return o;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
function quantile(xs: number[], q: number): number {
    if (xs.length === 0) return NaN;
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}

// ---------------------------------------------------------------- processes

const started: ChildProcess[] = [];
let sshdPid = 0;

function track(child: ChildProcess): ChildProcess {
    started.push(child);
    return child;
}

/** Every pid whose parent chain leads to `root`, from /proc. */
function descendants(root: number): number[] {
    const parent = new Map<number, number>();
    for (const entry of fs.readdirSync("/proc")) {
        if (!/^\d+$/.test(entry)) continue;
        try {
            const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
            parent.set(Number(entry), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
        } catch {
            // gone meanwhile
        }
    }
    const out: number[] = [];
    const walk = (pid: number) => {
        for (const [child, ppid] of parent) if (ppid === pid) { out.push(child); walk(child); }
    };
    walk(root);
    return out;
}

async function stopAll(): Promise<void> {
    for (const child of [...started].reverse()) {
        if (child.exitCode === null && child.signalCode === null && child.pid) {
            try { process.kill(child.pid, "SIGTERM"); } catch { /* gone */ }
        }
    }
    await sleep(1500);
    const leftovers = sshdPid ? descendants(sshdPid) : [];
    for (const child of started) {
        if (child.exitCode === null && child.signalCode === null && child.pid) {
            try { process.kill(child.pid, "SIGKILL"); } catch { /* gone */ }
        }
    }
    // Connection children of our own sshd outlive its listener only while their client lives.
    for (const pid of leftovers) {
        try { process.kill(pid, "SIGKILL"); } catch { /* gone */ }
    }
}

function run(cmd: string, args: string[], input?: string): string {
    const r = spawnSync(cmd, args, { input, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")}: ${r.stderr || r.error}`);
    return r.stdout;
}

async function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const s = net.createServer();
        s.listen(0, "127.0.0.1", () => {
            const port = (s.address() as net.AddressInfo).port;
            s.close(() => resolve(port));
        });
        s.on("error", reject);
    });
}

async function waitForPort(port: number, ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
        const ok = await new Promise<boolean>((r) => {
            const c = net.connect(port, "127.0.0.1", () => { c.destroy(); r(true); });
            c.on("error", () => r(false));
        });
        if (ok) return;
        await sleep(100);
    }
    throw new Error(`nothing listens on 127.0.0.1:${port} after ${ms} ms`);
}

// ---------------------------------------------------------------- /proc figures

function statusKb(pid: number, field: string): number {
    try {
        const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
        return m ? Number(m[1]) : 0;
    } catch {
        return 0;
    }
}

function pssKb(pid: number): number {
    try {
        const m = /^Pss:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"));
        return m ? Number(m[1]) : 0;
    } catch {
        return 0;
    }
}

/** utime + stime of a process in clock ticks. */
function cpuTicks(pid: number): number {
    try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
        const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        return Number(f[11]) + Number(f[12]);
    } catch {
        return 0;
    }
}
const TICKS_PER_S = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim() || 100);

function sshdFigures(): { processes: number; rssMb: number; pssMb: number } {
    const pids = [sshdPid, ...descendants(sshdPid)];
    let rss = 0;
    let pss = 0;
    for (const pid of pids) {
        rss += statusKb(pid, "VmRSS");
        pss += pssKb(pid);
    }
    return { processes: pids.length, rssMb: round(rss / 1024, 1), pssMb: round(pss / 1024, 1) };
}

// ---------------------------------------------------------------- setup

async function startSshd(dir: string, port: number): Promise<void> {
    const sshd = track(spawn("/usr/sbin/sshd", ["-D", "-e", "-f", path.join(dir, "sshd_config")], { stdio: ["ignore", "ignore", fs.openSync(path.join(dir, "sshd.log"), "a")] }));
    sshdPid = sshd.pid!;
    await waitForPort(port, 10_000);
}

/** Kills sshd and every connection it holds, then starts it again; resolves once it listens. */
async function restartSshd(l: Layout): Promise<void> {
    const pids = [sshdPid, ...descendants(sshdPid)];
    for (const pid of pids) {
        try { process.kill(pid, "SIGKILL"); } catch { /* gone */ }
    }
    await sleep(200);
    await startSshd(l.dir, l.port);
}

function garbage(file: string): void {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, Buffer.alloc(8192, 0x5a));
}

interface Layout {
    dir: string;
    paths: PathsConfig;
    tenantDbs: string[];
    mainDb: string;
    config: string;
    hostPub: string;
    port: number;
}

async function setup(o: Options): Promise<Layout> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wbloop-"));
    const data = path.join(dir, "data");
    const paths: PathsConfig = {
        dataRoot: data,
        workspace: path.join(dir, "workspace"),
        databases: MAIN_DBS.map((d) => path.join(data, d)),
        tenantsDir: path.join(data, "scoreboard", "tenants"),
        replicaDir: path.join(dir, "replica"),
        fileSync: [],
        binaries: path.join(data, "bin"),
    };
    run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(dir, "host_ed25519")]);
    run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(dir, "client_ed25519")]);
    const hostPub = fs.readFileSync(path.join(dir, "host_ed25519.pub"), "utf8").split(" ").slice(0, 2).join(" ");
    const clientPub = fs.readFileSync(path.join(dir, "client_ed25519.pub"), "utf8").trim();
    fs.writeFileSync(path.join(dir, "authorized_keys"), `restrict ${clientPub}\n`, { mode: 0o600 });
    const port = await freePort();
    const dropins = path.join(dir, "sshd_config.d");
    fs.mkdirSync(dropins);
    // Debian's sshd_config, less what would touch this machine (port, host keys, pid file).
    fs.writeFileSync(
        path.join(dir, "sshd_config"),
        [
            `Include ${dropins}/*.conf`,
            `Port ${port}`,
            "ListenAddress 127.0.0.1",
            `HostKey ${dir}/host_ed25519`,
            `PidFile ${dir}/sshd.pid`,
            `AuthorizedKeysFile ${dir}/authorized_keys`,
            "StrictModes no",
            "PermitRootLogin prohibit-password",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            `UsePAM ${process.env.LOOPBACK_USE_PAM ?? "yes"}`,
            "X11Forwarding yes",
            "PrintMotd no",
            "AcceptEnv LANG LC_*",
            "Subsystem sftp /usr/lib/openssh/sftp-server",
            "",
        ].join("\n"),
    );
    if (o.sshd === "sized") {
        fs.writeFileSync(path.join(dropins, "40-wirebot-startups.conf"), `MaxStartups ${maxStartups(MAIN_DBS.length, o.tenants)}\n`);
    }
    // As host/scripts/replica-access.sh admits the replica user (root here: the key is restricted the same way).
    fs.writeFileSync(
        path.join(dropins, "50-wirebot-replica.conf"),
        "Match User root\n    ForceCommand internal-sftp\n    AllowTcpForwarding no\n    AllowAgentForwarding no\n    X11Forwarding no\n    PermitTTY no\n",
    );
    fs.mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
    run("/usr/sbin/sshd", ["-t", "-f", path.join(dir, "sshd_config")]);
    const effective = run("/usr/sbin/sshd", ["-T", "-f", path.join(dir, "sshd_config")]).split("\n").find((l) => l.startsWith("maxstartups"));
    log(`sshd on 127.0.0.1:${port}, ${effective}`);
    await startSshd(dir, port);

    const tenantDbs: string[] = [];
    for (let i = 0; i < o.tenants; i++) tenantDbs.push(path.join(paths.tenantsDir, `t${String(i).padStart(3, "0")}`, "events.db"));
    for (const db of [...paths.databases, ...tenantDbs]) {
        fs.mkdirSync(path.dirname(db), { recursive: true });
        const d = new DatabaseSync(db);
        d.exec(`PRAGMA journal_mode=WAL; ${SCHEMA}; INSERT INTO events (id, kind) VALUES ('seed', 'seed');`);
        d.close();
    }
    if (o.fault === "garbage-tenant") garbage(path.join(paths.tenantsDir, "zz-garbage", "events.db"));
    const rendered = JSON.parse(litestreamConfig(paths, { host: "127.0.0.1", port, hostKey: hostPub }, "1s").replace(/^#.*\n/, ""));
    rendered.socket.path = path.join(dir, "litestream.sock");
    for (const db of rendered.dbs) {
        db.replica.user = "root";
        db.replica["key-path"] = path.join(dir, "client_ed25519");
    }
    const config = path.join(dir, "litestream.yml");
    fs.writeFileSync(config, JSON.stringify(rendered, null, 2));
    return { dir, paths, tenantDbs, mainDb: paths.databases[1], config, hostPub, port };
}

function replicaOf(l: Layout, live: string): string {
    return path.join(l.paths.replicaDir, path.relative(l.paths.dataRoot, live));
}

function hasReplica(l: Layout, live: string): boolean {
    const ltx = path.join(replicaOf(l, live), "ltx");
    try {
        return fs.readdirSync(ltx).some((level) => fs.readdirSync(path.join(ltx, level)).some((f) => f.endsWith(".ltx")));
    } catch {
        return false;
    }
}

/** The newest level-0 LTX file of a database's replica, by name. */
function newestLtx(l: Layout, live: string): string {
    try {
        return fs.readdirSync(path.join(replicaOf(l, live), "ltx", "0")).filter((f) => f.endsWith(".ltx")).sort().pop() ?? "";
    } catch {
        return "";
    }
}

// ---------------------------------------------------------------- start

interface StartResult {
    started: boolean;
    attempts: { exitCode: number | null; seconds: number; replicated: number; error?: string }[];
    allReplicatedS?: number;
    child?: ChildProcess;
}

/** Starts Litestream as its unit would (Restart=always, RestartSec=2s): up to `attempts` times. */
async function startLitestream(l: Layout, o: Options): Promise<StartResult> {
    const all = [...l.paths.databases, ...l.tenantDbs];
    const result: StartResult = { started: false, attempts: [] };
    for (let attempt = 1; attempt <= o.attempts; attempt++) {
        const logFile = path.join(l.dir, `litestream-${attempt}.log`);
        const t0 = Date.now();
        const child = track(spawn("litestream", ["replicate", "-config", l.config], { stdio: ["ignore", fs.openSync(logFile, "a"), fs.openSync(logFile, "a")] }));
        const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
        let code: number | null | undefined;
        void exited.then((c) => (code = c));
        let replicated = 0;
        while (code === undefined && Date.now() - t0 < 60_000) {
            replicated = all.filter((db) => hasReplica(l, db)).length;
            if (replicated === all.length) break;
            await sleep(100);
        }
        const seconds = (Date.now() - t0) / 1000;
        if (code === undefined && replicated === all.length) {
            result.started = true;
            result.allReplicatedS = round(seconds);
            result.child = child;
            result.attempts.push({ exitCode: null, seconds: round(seconds), replicated });
            log(`litestream attempt ${attempt}: running, all ${all.length} databases have a replica after ${seconds.toFixed(2)} s`);
            return result;
        }
        if (code === undefined) {
            child.kill("SIGTERM");
            await exited;
        }
        const text = fs.readFileSync(logFile, "utf8");
        const error = text.split("\n").filter((line) => /error|Error|fail/.test(line)).pop()?.slice(0, 400);
        result.attempts.push({ exitCode: code ?? null, seconds: round(seconds), replicated, error });
        log(`litestream attempt ${attempt}: exited ${code} after ${seconds.toFixed(2)} s, ${replicated}/${all.length} replicated: ${error}`);
        await sleep(2000);
    }
    return result;
}

// ---------------------------------------------------------------- writer (child process)

/** Writes 1 row/s to each tenant database (spread over the second) and 50/s to the main one; reports sampled commits. */
function writer(dir: string, mainDb: string, tenantList: string, sampled: Set<number>): void {
    const tenants = fs.readFileSync(tenantList, "utf8").split("\n").filter(Boolean);
    const open = (file: string) => {
        const d = new DatabaseSync(file);
        d.exec("PRAGMA busy_timeout=5000; PRAGMA synchronous=FULL;");
        return { d, insert: d.prepare("INSERT INTO events (id, tenant, kind) VALUES (?, ?, 'load')") };
    };
    const main = open(mainDb);
    const dbs = tenants.map(open);
    const t0 = Date.now();
    const next = tenants.map((_, i) => t0 + Math.floor((1000 * i) / tenants.length));
    const seq = tenants.map(() => 0);
    let mainSeq = 0;
    let mainNext = t0;
    let writes = 0;
    let errors = 0;
    let late = 0;
    let stop = false;
    process.on("SIGTERM", () => (stop = true));
    const out: string[] = [];
    const tick = () => {
        if (stop) {
            process.stdout.write(`S ${writes} ${errors} ${late}\n`, () => process.exit(0));
            return;
        }
        const now = Date.now();
        while (mainNext <= now) {
            try { main.insert.run(`m-${++mainSeq}`, null); writes++; } catch { errors++; }
            mainNext += 20;
        }
        for (let i = 0; i < dbs.length; i++) {
            if (next[i] > now) continue;
            late = Math.max(late, now - next[i]);
            try {
                dbs[i].insert.run(`t${i}-${++seq[i]}`, `t${i}`);
                writes++;
                if (sampled.has(i)) out.push(`W ${i} ${seq[i]} ${Date.now()}`);
            } catch {
                errors++;
            }
            next[i] += 1000;
        }
        if (out.length) process.stdout.write(out.splice(0).join("\n") + "\n");
        setTimeout(tick, 5);
    };
    tick();
    void dir;
}

// ---------------------------------------------------------------- lag

interface LagProbe {
    index: number;
    live: string;
    replica: string;
    pending: { seq: number; at: number }[];
    lags: number[];
    lastListing: string;
    lastRestore: number;
    busy: boolean;
}

/** Rows in a restored copy of `replica`: the seed plus one per write. */
function restoredCount(replica: string, scratch: string): Promise<{ count: number; ms: number } | null> {
    const t = Date.now();
    for (const s of ["", "-wal", "-shm"]) fs.rmSync(scratch + s, { force: true });
    return new Promise((resolve) => {
        const child = track(spawn("litestream", ["restore", "-o", scratch, `file://${replica}`], { stdio: "ignore" }));
        child.once("exit", (code) => {
            if (code !== 0) return resolve(null);
            try {
                const d = new DatabaseSync(scratch, { readOnly: true });
                const row = d.prepare("SELECT count(*) AS n FROM events WHERE kind = 'load'").get() as { n: number };
                d.close();
                resolve({ count: row.n, ms: Date.now() - t });
            } catch {
                resolve(null);
            }
        });
    });
}

async function measureLag(probes: LagProbe[], untilMs: number, scratchDir: string, restoreMs: number[]): Promise<void> {
    while (Date.now() < untilMs) {
        for (const p of probes) {
            if (p.busy || p.pending.length === 0) continue;
            const level0 = path.join(p.replica, "ltx", "0");
            let listing = "";
            try { listing = fs.readdirSync(level0).sort().join(","); } catch { /* not yet */ }
            const now = Date.now();
            if (listing === p.lastListing && now - p.lastRestore < 500) continue;
            p.lastListing = listing;
            p.lastRestore = now;
            p.busy = true;
            void restoredCount(p.replica, path.join(scratchDir, `probe-${p.index}.db`)).then((r) => {
                p.busy = false;
                if (!r) return;
                restoreMs.push(r.ms);
                while (p.pending.length && p.pending[0].seq <= r.count) p.lags.push((now - p.pending.shift()!.at) / 1000);
            });
        }
        await sleep(50);
    }
}

// ---------------------------------------------------------------- restore timing

/** Restores every tenant database from its replica with `pool` at a time; checks each holds what the live one does. */
async function timeRestores(l: Layout, pool: number, expected: Map<string, number>): Promise<{ seconds: number; mismatched: number }> {
    const out = path.join(l.dir, `restored-${pool}`);
    fs.mkdirSync(out, { recursive: true });
    const queue = [...l.tenantDbs];
    let mismatched = 0;
    const t0 = Date.now();
    const worker = async () => {
        for (let live = queue.shift(); live; live = queue.shift()) {
            const target = path.join(out, `${path.basename(path.dirname(live))}.db`);
            await new Promise<void>((resolve) => {
                const child = track(spawn("litestream", ["restore", "-o", target, `file://${replicaOf(l, live)}`], { stdio: "ignore" }));
                child.once("exit", () => resolve());
            });
            try {
                const d = new DatabaseSync(target, { readOnly: true });
                const n = (d.prepare("SELECT count(*) AS n FROM events").get() as { n: number }).n;
                d.close();
                if (n !== expected.get(live)) mismatched++;
            } catch {
                mismatched++;
            }
        }
    };
    await Promise.all(Array.from({ length: pool }, worker));
    const seconds = (Date.now() - t0) / 1000;
    fs.rmSync(out, { recursive: true, force: true });
    return { seconds: round(seconds), mismatched };
}

/**
 * The product's wirebot-restore on the same replicas, into a fresh live tree:
 * one database at a time (WIREBOT_RESTORE_JOBS=1) and with its default number
 * of jobs, each with its checks (space, integrity_check, files moved aside).
 */
function scriptRestores(l: Layout, tenants: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const script = path.join(__dirname, "..", "host", "bin", "wirebot-restore");
    for (const jobs of ["1", ""]) {
        const live = path.join(l.dir, `live-${jobs || "default"}`);
        const list = path.join(l.dir, `replicas-${jobs || "default"}.list`);
        const lines = l.paths.databases.map((db) => `${path.join(live, path.relative(l.paths.dataRoot, db))} ${replicaOf(l, db)}`);
        lines.push(`tenants ${path.join(live, path.relative(l.paths.dataRoot, l.paths.tenantsDir))}=${replicaOf(l, l.paths.tenantsDir)}`);
        fs.writeFileSync(list, lines.join("\n") + "\n");
        const env: NodeJS.ProcessEnv = { ...process.env, WIREBOT_DATA_OWNER: "root" };
        if (jobs) env.WIREBOT_RESTORE_JOBS = jobs;
        else delete env.WIREBOT_RESTORE_JOBS;
        const t = Date.now();
        const r = spawnSync("sh", [script, list], { encoding: "utf8", env });
        const seconds = round((Date.now() - t) / 1000);
        const key = `restore_script_${tenants}_jobs_${jobs || "default"}`;
        out[`${key}_s`] = r.status === 0 ? seconds : null;
        out[`${key}_last_line`] = (r.status === 0 ? r.stdout : r.stderr).trim().split("\n").pop();
        log(`wirebot-restore of ${tenants} tenants and ${l.paths.databases.length} listed databases, jobs ${jobs || "default"}: ${seconds} s: ${out[`${key}_last_line`]}`);
        fs.rmSync(live, { recursive: true, force: true });
    }
    return out;
}

// ---------------------------------------------------------------- pre-auth cost

/** Holds `count` TCP connections to sshd that never authenticate; what sshd's processes take then. */
async function preauthCost(port: number, count: number): Promise<Record<string, unknown>> {
    const before = sshdFigures();
    const sockets: net.Socket[] = [];
    let closedEarly = 0;
    for (let i = 0; i < count; i++) {
        const s = net.connect(port, "127.0.0.1", () => s.write("SSH-2.0-probe\r\n"));
        s.on("error", () => undefined);
        s.on("close", () => closedEarly++);
        sockets.push(s);
    }
    await sleep(3000);
    const during = sshdFigures();
    const dropped = closedEarly;
    for (const s of sockets) s.destroy();
    await sleep(1000);
    return {
        preauth_connections: count,
        preauth_dropped_by_sshd: dropped,
        preauth_sshd_processes: during.processes - before.processes,
        preauth_sshd_pss_mb: round(during.pssMb - before.pssMb, 1),
        preauth_sshd_rss_mb: round(during.rssMb - before.rssMb, 1),
    };
}

// ---------------------------------------------------------------- main

async function main(o: Options): Promise<Record<string, unknown>> {
    const l = await setup(o);
    const report: Record<string, unknown> = {
        tenants: o.tenants,
        databases: o.tenants + MAIN_DBS.length,
        sshd_max_startups: run("/usr/sbin/sshd", ["-T", "-f", path.join(l.dir, "sshd_config")]).split("\n").find((x) => x.startsWith("maxstartups"))?.split(" ")[1],
        cores: os.cpus().length,
        litestream: run("litestream", ["version"]).trim(),
    };
    try {
        const idle = sshdFigures();
        report.sshd_idle_pss_mb = idle.pssMb;
        if (o.preauth > 0) Object.assign(report, await preauthCost(l.port, o.preauth));
        const start = await startLitestream(l, o);
        report.started = start.started;
        report.start_attempts = start.attempts;
        report.all_replicated_after_start_s = start.allReplicatedS ?? null;
        if (!start.started) return report;
        const ls = start.child!;

        // The writer, in a process of its own so its SQLite calls never stall the measuring.
        const sampleIdx = [...new Set(Array.from({ length: Math.min(LAG_SAMPLES, o.tenants) }, (_, k) => Math.floor((k * o.tenants) / Math.min(LAG_SAMPLES, o.tenants))))];
        const list = path.join(l.dir, "tenants.list");
        fs.writeFileSync(list, l.tenantDbs.join("\n") + "\n");
        const w = track(spawn(process.execPath, [...process.execArgv, __filename, "--writer", l.dir, l.mainDb, list, sampleIdx.join(",")], { stdio: ["ignore", "pipe", "inherit"] }));
        const probes: LagProbe[] = sampleIdx.map((i) => ({ index: i, live: l.tenantDbs[i], replica: replicaOf(l, l.tenantDbs[i]), pending: [], lags: [], lastListing: "", lastRestore: 0, busy: false }));
        let measuring = false;
        let writerSummary = "";
        let buffered = "";
        w.stdout!.on("data", (chunk: Buffer) => {
            buffered += chunk.toString();
            const lines = buffered.split("\n");
            buffered = lines.pop()!;
            for (const line of lines) {
                const [kind, a, b, c] = line.split(" ");
                if (kind === "S") writerSummary = line;
                if (kind !== "W" || !measuring) continue;
                const probe = probes.find((p) => p.index === Number(a));
                probe?.pending.push({ seq: Number(b), at: Number(c) });
            }
        });
        log(`writing: ${o.tenants} tenants at 1/s, main at 50/s; warm-up ${o.warmup} s`);
        await sleep(o.warmup * 1000);
        measuring = true;
        const scratch = path.join(l.dir, "scratch");
        fs.mkdirSync(scratch);
        const restoreMs: number[] = [];
        const windowStart = Date.now();
        const ticks0 = cpuTicks(ls.pid!);
        const samples: { rss: number; sshd: ReturnType<typeof sshdFigures> }[] = [];
        const sampler = (async () => {
            while (Date.now() - windowStart < o.seconds * 1000) {
                samples.push({ rss: statusKb(ls.pid!, "VmRSS"), sshd: sshdFigures() });
                await sleep(2000);
            }
        })();
        const fault = (async () => {
            if (!o.fault) return;
            await sleep((o.seconds * 1000) / 2);
            if (o.fault === "garbage-tenant") {
                garbage(path.join(l.paths.tenantsDir, "zz-garbage-2", "events.db"));
                report.fault = "a second non-SQLite events.db appeared while Litestream ran";
                return;
            }
            const all = [...l.paths.databases, ...l.tenantDbs];
            const before = new Map(all.map((db) => [db, newestLtx(l, db)]));
            if (o.fault === "sshd-restart-default") fs.rmSync(path.join(l.dir, "sshd_config.d", "40-wirebot-startups.conf"), { force: true });
            const t = Date.now();
            await restartSshd(l);
            log("sshd killed with every connection and started again");
            let back = 0;
            while (Date.now() - t < 120_000) {
                back = all.filter((db) => newestLtx(l, db) !== before.get(db)).length;
                if (back === all.length) break;
                await sleep(100);
            }
            report.fault = `sshd and every connection killed, sshd started again${o.fault === "sshd-restart-default" ? " with Debian's MaxStartups" : ""}`;
            report.fault_all_shipping_again_s = back === all.length ? round((Date.now() - t) / 1000) : null;
            report.fault_shipping_again = `${back}/${all.length}`;
            log(`after the sshd restart: ${back}/${all.length} databases shipping again after ${((Date.now() - t) / 1000).toFixed(2)} s`);
        })();
        await measureLag(probes, windowStart + o.seconds * 1000, scratch, restoreMs);
        await sampler;
        await fault;
        const cpuPct = ((cpuTicks(ls.pid!) - ticks0) / TICKS_PER_S / ((Date.now() - windowStart) / 1000)) * 100;
        const lags = probes.flatMap((p) => p.lags);
        const unseen = probes.reduce((n, p) => n + p.pending.filter((x) => x.at < Date.now() - 5000).length, 0);
        Object.assign(report, {
            litestream_alive: ls.exitCode === null,
            litestream_rss_mb_mean: round(samples.reduce((s, x) => s + x.rss, 0) / samples.length / 1024, 1),
            litestream_rss_mb_max: round(Math.max(...samples.map((x) => x.rss)) / 1024, 1),
            litestream_hwm_mb: round(statusKb(ls.pid!, "VmHWM") / 1024, 1),
            litestream_cpu_pct: round(cpuPct, 1),
            sshd_processes: Math.max(...samples.map((x) => x.sshd.processes)),
            sshd_rss_mb_max: Math.max(...samples.map((x) => x.sshd.rssMb)),
            sshd_pss_mb_max: Math.max(...samples.map((x) => x.sshd.pssMb)),
            lag_samples: lags.length,
            lag_s_p50: round(quantile(lags, 0.5)),
            lag_s_p99: round(quantile(lags, 0.99)),
            lag_s_max: round(Math.max(...lags)),
            lag_unseen_after_5s: unseen,
            lag_probe_restore_ms_median: quantile(restoreMs, 0.5),
            load_avg_1m: round(os.loadavg()[0]),
        });
        log(`measured: ${JSON.stringify(report)}`);

        // Writes stop; what each database holds is what its replica must restore to.
        w.kill("SIGTERM");
        await new Promise((r) => w.once("exit", r));
        report.writer = writerSummary;
        await sleep(3000);
        const expected = new Map<string, number>();
        for (const db of l.tenantDbs) {
            const d = new DatabaseSync(db, { readOnly: true });
            expected.set(db, (d.prepare("SELECT count(*) AS n FROM events").get() as { n: number }).n);
            d.close();
        }
        // What a planned handover does once writes stop (agent/src/replication/litestream-sync.ts): one
        // `litestream sync -wait` per database, one after another, through the control socket.
        const t = Date.now();
        let syncFailures = 0;
        for (const db of [...l.paths.databases, ...l.tenantDbs]) {
            const r = spawnSync("litestream", ["sync", "-wait", "-timeout", "30", "-socket", path.join(l.dir, "litestream.sock"), "-json", db], { encoding: "utf8" });
            if (r.status !== 0) syncFailures++;
        }
        report.sync_wait_all_sequential_s = round((Date.now() - t) / 1000);
        report.sync_wait_failures = syncFailures;
        log(`litestream sync -wait of all ${o.tenants + MAIN_DBS.length} databases, one after another: ${report.sync_wait_all_sequential_s} s, ${syncFailures} failed`);
        ls.kill("SIGTERM");
        await new Promise((r) => (ls.exitCode === null ? ls.once("exit", r) : r(null)));
        const restores: Record<string, unknown> = {};
        for (const pool of o.pools) {
            const r = await timeRestores(l, pool, expected);
            restores[`restore_${o.tenants}_p${pool}_s`] = r.seconds;
            restores[`restore_${o.tenants}_p${pool}_mismatched`] = r.mismatched;
            log(`restore of ${o.tenants} tenant databases, ${pool} at a time: ${r.seconds} s, ${r.mismatched} not matching the live database`);
        }
        Object.assign(report, restores);
        Object.assign(report, scriptRestores(l, o.tenants));
        return report;
    } finally {
        await stopAll();
        if (!o.keep) fs.rmSync(l.dir, { recursive: true, force: true });
        else log(`kept ${l.dir}`);
    }
}

if (process.argv[2] === "--writer") {
    const [, , , dir, mainDb, list, samples] = process.argv;
    writer(dir, mainDb, list, new Set(samples.split(",").filter(Boolean).map(Number)));
} else {
    const o = parse(process.argv.slice(2));
    const guard = setTimeout(() => {
        log(`hard limit of ${HARD_LIMIT_S} s reached: stopping`);
        void stopAll().then(() => process.exit(2));
    }, HARD_LIMIT_S * 1000);
    for (const sig of ["SIGINT", "SIGTERM"] as const) process.on(sig, () => void stopAll().then(() => process.exit(130)));
    main(o)
        .then((report) => {
            clearTimeout(guard);
            const line = JSON.stringify(report);
            process.stdout.write(line + "\n");
            if (o.json) fs.appendFileSync(o.json, line + "\n");
        })
        .catch(async (err) => {
            clearTimeout(guard);
            log(`failed: ${(err as Error).stack}`);
            await stopAll();
            process.exit(1);
        });
}
