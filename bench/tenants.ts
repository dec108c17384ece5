import * as fs from "node:fs";
import * as path from "node:path";
import { replicaPathOf } from "../src/render/litestream-config";
import { LAB_TENANT, PATHS, projectDir, pulumi, pulumiOk, setConfig } from "../lab/engine";
import { hosts, LabEnv, LabHost, sshAsync } from "../lab/lab";
import { Load, LoadAck, Sampler, upOk } from "../lab/runtime-harness";
import { failback, FlipMeasure, switchover } from "./flip-cycles";
import { backAfterAutomatic, median, powerOff, progress, round } from "./power-off";

// N tenant databases on the lab (`npm run bench -- --tenants N`), as the
// product lays them out: <tenantsDir>/<tenant>/events.db, created by the
// scoreboard on a tenant's first event (X-Tenant), where Litestream's directory
// watch picks them up. A tenant stack only makes the tenant's directories and
// secrets and leaves the database to the scoreboard, and each stack has a state
// of its own, so the engine's time for one more tenant stack does not grow with
// the number of stacks: N databases are made directly, and `tenant_up_s` is the
// time of `pulumi up` of one more tenant stack while the N replicate.
// Under 1 event/s per tenant (each acknowledged by the scoreboard after commit)
// and the 50/s main load, it measures:
//  - lag on a sample of tenants: an acknowledged write to a `litestream
//    restore` on the standby that holds it (tenant_lag_s_p50/_p99/_max);
//  - Litestream's RSS and CPU on the primary, the standby's sshd (processes,
//    PSS) and replica disk use, the hosts' memory (limit, peak, OOM kills);
//  - whether Litestream starts again with N databases (a restart);
//  - a planned switchover and failback: time, acknowledged tenant events lost;
//  - power-offs of the primary (watchdog alone, 10 s heartbeat): RTO split
//    into detection, restore, services; tenant events lost; the failback after.
// Then it removes its tenant databases, their replicas and restored copies.

const PREFIX = "bench-";
const LAG_SAMPLES = 10;
const WINDOW_S = Number(process.env.BENCH_TENANT_WINDOW ?? 60);
const KILLS = Number(process.env.BENCH_TENANT_KILLS ?? 2);
/** The product's default: the standby's sshd admits this many tenants' connections at once. */
const DEFAULT_MAX_TENANTS = 200;
const EXTRA_STACK = "tenant-benchextra";
const TENANTS_DIR = PATHS.tenantsDir;
const TENANTS_REPLICA = replicaPathOf(PATHS, PATHS.tenantsDir);
const SCOREBOARD_PORT = 8100;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function quantile(xs: number[], q: number): number | null {
    if (xs.length === 0) return null;
    const s = [...xs].sort((a, b) => a - b);
    return round(s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]);
}

/** The counts --tenants names (`--tenants 200`, `--tenants=0,50,200`), or undefined without it. */
export function tenantCounts(argv: string[]): number[] | undefined {
    const i = argv.findIndex((a) => a === "--tenants" || a.startsWith("--tenants="));
    if (i < 0) return undefined;
    const value = argv[i].includes("=") ? argv[i].slice(argv[i].indexOf("=") + 1) : argv[i + 1];
    const counts = (value ?? "").split(",").map((v) => (/^\d+$/.test(v) ? Number(v) : NaN));
    if (!value || counts.some((n) => !(n >= 0 && n <= 2000))) {
        throw new Error(`--tenants takes a count of tenant databases or a list of them (0 to 2000), e.g. --tenants 200 or --tenants 0,50,200; got ${JSON.stringify(value ?? "")}`);
    }
    return counts;
}

export function tenantIds(n: number): string[] {
    return Array.from({ length: n }, (_, i) => `${PREFIX}${String(i).padStart(3, "0")}`);
}

async function run(env: LabEnv, host: LabHost, command: string, input?: string, timeoutMs = 120_000): Promise<string> {
    const r = await sshAsync(env, host, command, input, timeoutMs);
    if (r.status !== 0) throw new Error(`${host}: '${command.slice(0, 120)}' failed (${r.status}): ${r.stderr}${r.stdout}`.slice(0, 2000));
    return r.stdout;
}

/** The first event of each tenant, through the scoreboard, which creates its database; 20 at a time. */
async function createTenants(env: LabEnv, tenants: string[]): Promise<void> {
    const queue = [...tenants];
    const worker = async () => {
        for (let tenant = queue.shift(); tenant; tenant = queue.shift()) {
            const response = await fetch(`http://${env.address.primary}:${SCOREBOARD_PORT}/v1/events`, {
                method: "POST",
                headers: { "content-type": "application/json", "x-tenant": tenant },
                body: JSON.stringify({ id: `t-${tenant}-0`, kind: "tenant-create" }),
                signal: AbortSignal.timeout(10_000),
            });
            if (!response.ok) throw new Error(`creating tenant ${tenant}'s database: HTTP ${response.status} ${await response.text()}`);
        }
    };
    await Promise.all(Array.from({ length: 20 }, worker));
}

/** Prints how many of the bench's tenant replicas under `root` hold an LTX file. */
export function countReplicatedCommand(root: string): string {
    return `n=0; for d in ${root}/${PREFIX}*/events.db; do for f in "$d"/ltx/*/*.ltx; do if [ -f "$f" ]; then n=$((n + 1)); break; fi; done; done; echo $n`;
}

async function replicatedCount(env: LabEnv): Promise<number> {
    return Number((await run(env, "standby", countReplicatedCommand(TENANTS_REPLICA))).trim());
}

/** On the standby: for each sampled tenant, a `litestream restore` of its replica each time its level-0 LTX files change (or every 0.5 s), printing "<tenant> <restore started, ms> <highest sequence restored>". */
export const LAG_PROBE = `
import os, sqlite3, subprocess, sys, threading, time
duration, root, tenants = float(sys.argv[1]), sys.argv[2], sys.argv[3:]
end = time.time() + duration
lock = threading.Lock()
def remove(path):
    for suffix in ("", "-wal", "-shm"):
        try:
            os.remove(path + suffix)
        except FileNotFoundError:
            pass
def watch(tenant):
    replica = os.path.join(root, tenant, "events.db")
    out = "/tmp/wirebot-lag-probe-%s.db" % tenant
    prefix = "t-%s-" % tenant
    last, ran = None, 0.0
    while time.time() < end:
        try:
            listing = sorted(os.listdir(os.path.join(replica, "ltx", "0")))
        except OSError:
            listing = []
        now = time.time()
        if listing == last and now - ran < 0.5:
            time.sleep(0.05)
            continue
        last, ran = listing, now
        remove(out)
        if subprocess.run(["litestream", "restore", "-o", out, "file://" + replica], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode != 0:
            continue
        try:
            db = sqlite3.connect(out)
            seq = db.execute("SELECT max(CAST(substr(id, ?) AS INTEGER)) FROM events WHERE id LIKE ?", (len(prefix) + 1, prefix + "%")).fetchone()[0]
            db.close()
        except sqlite3.Error:
            continue
        with lock:
            print(tenant, int(now * 1000), seq or 0, flush=True)
    remove(out)
threads = [threading.Thread(target=watch, args=(t,)) for t in tenants]
for t in threads:
    t.start()
for t in threads:
    t.join()
`;

/** Lag of each sampled acknowledged write: from its acknowledgement to the first restore on the standby that holds it. */
export function lags(acks: LoadAck[], probeOutput: string, from: number, until: number): { lags: number[]; unseen: number } {
    const seen = new Map<string, { at: number; seq: number }[]>();
    for (const line of probeOutput.trim().split("\n")) {
        const [tenant, at, seq] = line.split(" ");
        if (!seq) continue;
        if (!seen.has(tenant)) seen.set(tenant, []);
        seen.get(tenant)!.push({ at: Number(at), seq: Number(seq) });
    }
    const out: number[] = [];
    let unseen = 0;
    for (const ack of acks) {
        const restores = ack.tenant === undefined ? undefined : seen.get(ack.tenant);
        if (!restores || ack.seq === undefined || ack.at < from || ack.at > until) continue;
        const first = restores.find((r) => r.seq >= ack.seq!);
        if (first) out.push(Math.max(0, first.at - ack.at) / 1000);
        else unseen += 1;
    }
    return { lags: out, unseen };
}

/** pid, RSS (KiB) and CPU ticks of the primary's Litestream, and the ticks per second. */
async function litestreamFigures(env: LabEnv): Promise<{ pid: number; rssKb: number; ticks: number; hz: number }> {
    const out = await run(
        env,
        "primary",
        "pid=$(systemctl show -p MainPID --value wirebot-litestream); echo \"$pid $(awk '/^VmRSS/ { print $2 }' /proc/$pid/status) $(awk '{ print $14 + $15 }' /proc/$pid/stat) $(getconf CLK_TCK)\"",
    );
    const [pid, rssKb, ticks, hz] = out.trim().split(" ").map(Number);
    return { pid, rssKb, ticks, hz };
}

/** The standby's sshd processes and their PSS (KiB): one per replication connection and more. */
async function sshdFigures(env: LabEnv): Promise<{ processes: number; pssKb: number }> {
    const out = await run(env, "standby", "n=0; pss=0; for p in $(pgrep -x sshd); do k=$(awk '/^Pss:/ { print $2 }' /proc/$p/smaps_rollup 2>/dev/null); n=$((n + 1)); pss=$((pss + ${k:-0})); done; echo \"$n $pss\"");
    const [processes, pssKb] = out.trim().split(" ").map(Number);
    return { processes, pssKb };
}

/** Each host's memory cgroup: "<host>: limit_mib=... usage_mib=... peak_mib=... oom_kills=..." from hosts.sh. */
function memoryFigures(): Record<string, Record<string, number>> {
    const out: Record<string, Record<string, number>> = {};
    for (const line of hosts("memory").trim().split("\n")) {
        const [host, rest] = line.split(": ");
        if (!rest) continue;
        out[host] = Object.fromEntries(
            rest
                .split(" ")
                .map((kv) => kv.split("="))
                .filter(([k, v]) => k !== "cgroup" && v !== undefined && /^\d+$/.test(v))
                .map(([k, v]) => [k, Number(v)]),
        );
    }
    return out;
}

/** Prints every tenant event id (t-...) in the bench's tenant databases under `dir`. */
export function tenantEventIdsCommand(dir: string): string {
    return `cd ${dir} 2>/dev/null || exit 0; for f in ${PREFIX}*/events.db; do if [ -f "$f" ]; then sqlite3 "$f" "select id from events where id like 't-%'"; fi; done; true`;
}

async function tenantEventIds(env: LabEnv, host: LabHost): Promise<Set<string>> {
    return new Set((await run(env, host, tenantEventIdsCommand(TENANTS_DIR), undefined, 300_000)).split("\n").filter(Boolean));
}

/** `pulumi up` of one more tenant stack (its directories and secrets on both hosts) while the N databases replicate; then it is destroyed. */
async function oneMoreTenantStack(env: LabEnv): Promise<number> {
    const dir = projectDir(env);
    await pulumi(env, ["stack", "rm", EXTRA_STACK, "--yes", "--force"]);
    await pulumiOk(env, ["stack", "init", EXTRA_STACK, "--secrets-provider", "passphrase"]);
    const file = path.join(dir, `Pulumi.${EXTRA_STACK}.yaml`);
    const salt = fs.readFileSync(file, "utf8").match(/^encryptionsalt: .*$/m)?.[0] ?? "";
    // The lab tunnel routes one tenant hostname; a second stack may name it too (DNS is not managed in the lab).
    fs.writeFileSync(file, `${salt}\nconfig: ${JSON.stringify({ "wirebot:hostnames": [`${LAB_TENANT}.clients.wirebot.chat`], "wirebot:manageDns": false })}\n`);
    const up = await pulumi(env, ["up", "-s", EXTRA_STACK, "--yes", "--skip-preview", "--suppress-progress"]);
    if (up.status !== 0) throw new Error(`pulumi up -s ${EXTRA_STACK} failed:\n${up.stdout}${up.stderr}`);
    const destroy = await pulumi(env, ["destroy", "-s", EXTRA_STACK, "--yes", "--skip-preview", "--suppress-progress"]);
    if (destroy.status !== 0) throw new Error(`pulumi destroy -s ${EXTRA_STACK} failed:\n${destroy.stdout}${destroy.stderr}`);
    await pulumiOk(env, ["stack", "rm", EXTRA_STACK, "--yes"]);
    return up.ms / 1000;
}

/** Litestream restarted on the primary with the N databases there: does it start (no automatic restart, no "cannot open store")? */
async function litestreamRestart(env: LabEnv): Promise<Record<string, unknown>> {
    const restarts = async () => Number((await run(env, "primary", "systemctl show -p NRestarts --value wirebot-litestream")).trim());
    const before = await restarts();
    const since = (await run(env, "primary", "date '+%Y-%m-%d %H:%M:%S'")).trim();
    await run(env, "primary", "systemctl restart wirebot-litestream");
    await sleep(20_000);
    const failed = Number((await run(env, "primary", `journalctl -u wirebot-litestream --since '${since}' --no-pager -o cat | grep -c 'cannot open store' || true`)).trim());
    const active = (await run(env, "primary", "systemctl is-active wirebot-litestream || true")).trim();
    return { litestream_restart_active: active === "active", litestream_restart_auto_restarts: (await restarts()) - before, litestream_restart_open_store_failures: failed };
}

/** Acknowledged events a host lacks. */
function lost(acks: LoadAck[], held: Set<string>): number {
    return acks.filter((a) => !held.has(a.id)).length;
}

async function planned(env: LabEnv, sampler: Sampler, tenants: string[]): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = {};
    for (const [name, flip, to] of [["switchover", switchover, "standby"], ["failback", failback, "primary"]] as const) {
        const load = new Load(env, sampler, tenants);
        let measure: FlipMeasure;
        try {
            measure = await flip(env, sampler);
        } finally {
            await load.stop();
        }
        const held = await tenantEventIds(env, to);
        // Every acknowledged tenant event, on either side, must be on the side that serves now.
        out[`tenant_${name}_s`] = round(measure.seconds);
        out[`tenant_${name}_main_events_lost`] = measure.lost;
        out[`tenant_${name}_tenant_events_lost`] = lost(load.acked, held);
        out[`tenant_${name}_tenant_events_acked`] = load.acked.length;
        if (measure.detail) out[`tenant_${name}_detail`] = measure.detail;
        progress(`  ${name}: ${measure.seconds.toFixed(1)} s to serving, main lost ${measure.lost}/${measure.acked}, tenant lost ${lost(load.acked, held)}/${load.acked.length}`);
    }
    return out;
}

async function powerOffs(env: LabEnv, sampler: Sampler, tenants: string[]): Promise<Record<string, unknown>> {
    if (KILLS < 1) return {};
    const runs: Record<string, number | string>[] = [];
    for (let n = 1; n <= KILLS; n++) {
        const load = new Load(env, sampler, tenants);
        let p: Awaited<ReturnType<typeof powerOff>>;
        try {
            p = await powerOff(env, sampler);
        } finally {
            await load.stop();
        }
        const step = (name: string) => p.timeline.filter((t) => t.step === name).reduce((sum, t) => sum + t.ms, 0) / 1000;
        const held = await tenantEventIds(env, "standby");
        const acked = load.acked.filter((a) => a.host === "primary" && a.at <= p.poweredOff);
        const lostAcks = acked.filter((a) => !held.has(a.id));
        const r = {
            rto_s: round(p.kill.rto_s),
            detection_s: round(p.kill.detection_s),
            restore_s: round(step("restore")),
            services_s: round(step("start services") + step("start connector")),
            other_activation_s: round(step("witness") + step("place files")),
            restore_detail: p.timeline.find((t) => t.step === "restore")?.detail ?? "",
            main_events_lost: p.kill.events_lost,
            tenant_events_lost: lostAcks.length,
            tenant_events_acked: acked.length,
            // How far back from the power-off acknowledged tenant writes were lost: the unplanned RPO.
            tenant_rpo_s: lostAcks.length ? round((p.poweredOff - Math.min(...lostAcks.map((a) => a.at))) / 1000) : 0,
        };
        progress(`  power-off ${n}/${KILLS}: RTO ${r.rto_s} s (detection ${r.detection_s}, restore ${r.restore_s}, services ${r.services_s}); lost ${r.main_events_lost} main, ${r.tenant_events_lost}/${r.tenant_events_acked} tenant, the last ${r.tenant_rpo_s} s`);
        const back = await backAfterAutomatic(env, sampler, 10);
        progress(`  failback after it: ${back.seconds.toFixed(1)} s to serving, lost ${back.lost}/${back.acked}`);
        runs.push({ ...r, failback_s: round(back.seconds), failback_events_lost: back.lost });
    }
    const col = (k: string) => runs.map((r) => r[k] as number);
    return {
        tenant_rto_s_median: round(median(col("rto_s"))),
        tenant_rto_s_max: round(Math.max(...col("rto_s"))),
        tenant_rto_detection_s_median: round(median(col("detection_s"))),
        tenant_rto_restore_s_median: round(median(col("restore_s"))),
        tenant_rto_restore_s_max: round(Math.max(...col("restore_s"))),
        tenant_rto_services_s_median: round(median(col("services_s"))),
        tenant_unplanned_main_events_lost_max: Math.max(...col("main_events_lost")),
        tenant_unplanned_tenant_events_lost_max: Math.max(...col("tenant_events_lost")),
        tenant_rpo_s_max: round(Math.max(...col("tenant_rpo_s"))),
        tenant_failback_after_automatic_s_median: round(median(col("failback_s"))),
        tenant_power_offs: runs,
    };
}

/** Removes the bench's tenant databases: on the primary (Litestream restarted without them), their replicas and restored copies on the standby. */
export async function removeTenants(env: LabEnv): Promise<void> {
    const extra = EXTRA_STACK.replace(/^tenant-/, "");
    const dirs = `${TENANTS_DIR}/${PREFIX}* ${TENANTS_DIR}/${extra} ${PATHS.dataRoot}/clients/${extra}`;
    await run(env, "primary", `rm -rf ${dirs} && if systemctl -q is-active wirebot-litestream; then systemctl restart wirebot-litestream; fi`);
    await run(env, "standby", `rm -rf ${dirs} ${TENANTS_REPLICA}/${PREFIX}*`);
}

const AGENT_UNITS = ["wirebot-watchdog", "wirebot-replicator", "wirebot-litestream", "wg-quick@wirebot"];

/** Both hosts' agent journals since the section began, written beside the results when it fails; returns the file's path. */
async function saveJournals(env: LabEnv, n: number, since: string): Promise<string> {
    const file = path.join(__dirname, "results", `tenants-${n}-failure.log`);
    const units = AGENT_UNITS.map((u) => `-u ${u}`).join(" ");
    const parts: string[] = [];
    for (const host of ["primary", "standby"] as const) {
        const r = await sshAsync(env, host, `journalctl ${units} --since '@${Math.floor(Date.parse(since) / 1000)}' --no-pager -o short-precise`, undefined, 60_000);
        parts.push(`==== ${host} (journalctl ${units}) ====\n${r.stdout}${r.stderr}`);
    }
    fs.writeFileSync(file, parts.join("\n"));
    progress(`tenants ${n}: the hosts' agent journals are in ${path.relative(process.cwd(), file)}`);
    return path.relative(process.cwd(), file);
}

/**
 * After a failed section, the operator's way on: the failback run again (a flip
 * that died halfway is finished by running it again), so that the next section
 * starts with the primary serving. Whether it did is part of the figures.
 */
async function backToPrimary(env: LabEnv, sampler: Sampler, n: number): Promise<Record<string, unknown>> {
    if (sampler.serving() === "primary") return {};
    try {
        const again = await failback(env, sampler);
        progress(`tenants ${n}: the failback run again: the primary serves after ${again.seconds.toFixed(1)} s, ${again.lost} of ${again.acked} acknowledged events lost`);
        return { rerun_failback_s: round(again.seconds), rerun_failback_events_lost: again.lost };
    } catch (err) {
        progress(`tenants ${n}: the failback run again failed too: ${(err as Error).message.slice(0, 500)}`);
        return { rerun_failback_error: (err as Error).message.slice(0, 1000) };
    }
}

/** The tenant section for N databases; what it measured, keyed as in bench/results/latest.json. */
export async function tenantSection(env: LabEnv, sampler: Sampler, n: number): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = { tenants: n, measuredAt: new Date().toISOString(), window_s: WINDOW_S };
    const tenants = tenantIds(n);
    const oomBefore = memoryFigures();
    try {
        if (n > DEFAULT_MAX_TENANTS) {
            await setConfig(env, "standby", "wirebot:litestream.maxTenants", String(n));
            await upOk(env, "standby", `pulumi up -s standby (litestream.maxTenants ${n})`);
        }
        await removeTenants(env);
        const created = Date.now();
        await createTenants(env, tenants);
        for (let replicated = 0; replicated < n; ) {
            if (Date.now() - created > 600_000) throw new Error(`only ${replicated} of ${n} tenant databases replicated after 10 minutes`);
            await sleep(1000);
            replicated = await replicatedCount(env);
        }
        out.tenant_all_replicated_s = round((Date.now() - created) / 1000);
        progress(`tenants ${n}: all created and replicated after ${out.tenant_all_replicated_s} s`);

        // Steady state: 1/s per tenant and the 50/s main load, lag probed on a sample, Litestream watched.
        const load = new Load(env, sampler, tenants);
        const main = new Load(env, sampler);
        const sampled = [...new Set(Array.from({ length: Math.min(LAG_SAMPLES, n) }, (_, k) => tenants[Math.floor((k * n) / Math.min(LAG_SAMPLES, n))]))];
        let probe = "";
        const rss: number[] = [];
        const sshd: { processes: number; pssKb: number }[] = [];
        const anon: Record<string, number[]> = { primary: [], standby: [] };
        let windowStart = 0;
        let windowEnd = 0;
        let cpuPct = 0;
        try {
            await sleep(10_000);
            windowStart = Date.now();
            const probing = sampled.length ? run(env, "standby", `python3 - ${WINDOW_S + 5} ${TENANTS_REPLICA} ${sampled.join(" ")}`, LAG_PROBE, (WINDOW_S + 60) * 1000) : Promise.resolve("");
            const first = await litestreamFigures(env);
            while (Date.now() - windowStart < WINDOW_S * 1000) {
                rss.push((await litestreamFigures(env)).rssKb);
                sshd.push(await sshdFigures(env));
                const memory = memoryFigures();
                for (const host of ["primary", "standby"]) if (memory[host]?.anon_mib !== undefined) anon[host].push(memory[host].anon_mib);
                await sleep(5000);
            }
            const last = await litestreamFigures(env);
            windowEnd = Date.now();
            if (last.pid === first.pid) cpuPct = ((last.ticks - first.ticks) / first.hz / ((windowEnd - windowStart) / 1000)) * 100;
            else out.litestream_restarted_during_window = true;
            probe = await probing;
        } finally {
            await Promise.all([load.stop(), main.stop()]);
        }
        const lag = lags(
            load.acked.filter((a) => a.tenant !== undefined && sampled.includes(a.tenant)),
            probe,
            windowStart + 2000,
            windowEnd - 5000,
        );
        const disk = (await run(env, "standby", `du -sk ${PATHS.replicaDir} | cut -f1; { du -sk ${TENANTS_REPLICA} 2>/dev/null || echo 0; } | cut -f1; df -Pk ${PATHS.replicaDir} | awk 'NR == 2 { print $4 }'`)).trim().split("\n").map(Number);
        Object.assign(out, {
            tenant_lag_s_p50: quantile(lag.lags, 0.5),
            tenant_lag_s_p99: quantile(lag.lags, 0.99),
            tenant_lag_s_max: lag.lags.length ? round(Math.max(...lag.lags)) : null,
            tenant_lag_samples: lag.lags.length,
            tenant_lag_unseen: lag.unseen,
            tenant_writes_acked: load.acked.length,
            tenant_write_failures: load.failures,
            main_writes_acked: main.acked.length,
            main_write_failures: main.failures,
            litestream_rss_mb: rss.length ? round(Math.max(...rss) / 1024) : null,
            litestream_rss_mb_median: rss.length ? round(median(rss) / 1024) : null,
            litestream_cpu_pct: round(cpuPct),
            standby_sshd_processes: sshd.length ? Math.max(...sshd.map((s) => s.processes)) : null,
            standby_sshd_pss_mb: sshd.length ? round(Math.max(...sshd.map((s) => s.pssKb)) / 1024) : null,
            // The processes' own memory under load, page cache left out: what the host's RAM must hold.
            memory_anon_mb_primary_max: anon.primary.length ? Math.max(...anon.primary) : null,
            memory_anon_mb_standby_max: anon.standby.length ? Math.max(...anon.standby) : null,
            standby_replica_disk_mb: round(disk[0] / 1024),
            standby_tenant_replica_disk_mb: round((disk[1] ?? 0) / 1024),
            standby_replica_fs_free_mb: round((disk[2] ?? 0) / 1024),
        });
        progress(
            `tenants ${n}: lag p50 ${out.tenant_lag_s_p50} s, p99 ${out.tenant_lag_s_p99} s, max ${out.tenant_lag_s_max} s (${lag.lags.length} samples, ${lag.unseen} unseen); ` +
                `Litestream ${out.litestream_rss_mb} MB, ${out.litestream_cpu_pct} % CPU; processes' memory primary ${out.memory_anon_mb_primary_max} MB, standby ${out.memory_anon_mb_standby_max} MB; standby sshd ${out.standby_sshd_processes} processes, ${out.standby_sshd_pss_mb} MB PSS; replicas ${out.standby_replica_disk_mb} MB`,
        );

        Object.assign(out, await litestreamRestart(env));
        progress(`tenants ${n}: Litestream restarted: ${out.litestream_restart_active ? "active" : "NOT active"}, ${out.litestream_restart_auto_restarts} automatic restarts, ${out.litestream_restart_open_store_failures} 'cannot open store'`);

        const upLoad = new Load(env, sampler, tenants);
        try {
            out.tenant_up_s = round(await oneMoreTenantStack(env));
        } finally {
            await upLoad.stop();
        }
        progress(`tenants ${n}: pulumi up of one more tenant stack: ${out.tenant_up_s} s`);

        Object.assign(out, await planned(env, sampler, tenants));
        Object.assign(out, await powerOffs(env, sampler, tenants));
        out.connectors_active_max = sampler.maxOnAtOnce;
    } catch (err) {
        out.error = (err as Error).message.slice(0, 2000);
        progress(`tenants ${n}: FAILED: ${out.error}`);
        out.journals = await saveJournals(env, n, out.measuredAt as string);
        Object.assign(out, await backToPrimary(env, sampler, n));
    } finally {
        const memory = memoryFigures();
        for (const host of ["primary", "standby"]) {
            if (!memory[host]) continue;
            out[`memory_limit_mb_${host}`] = memory[host].limit_mib ?? null;
            out[`memory_peak_mb_${host}`] = memory[host].peak_mib ?? null;
            out[`oom_kills_${host}`] = (memory[host].oom_kills ?? 0) - (oomBefore[host]?.oom_kills ?? 0);
        }
        try {
            await removeTenants(env);
        } catch (err) {
            out.cleanup_error = (err as Error).message.slice(0, 500);
        }
    }
    return out;
}
