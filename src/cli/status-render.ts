import type { HostStatus } from "../../agent/contract";
import { Assessment, isServing, StatusSnapshot } from "./status-report";
import type { StackRole } from "./stacks";

// `wirebot-ops status` for a person (a few short tables) and for scripts (--json).

const ROLES: StackRole[] = ["primary", "standby"];

function table(rows: string[][]): string[] {
    const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
    return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]))).join("  ").trimEnd());
}

const age = (seconds: number | null | undefined) => (seconds === null || seconds === undefined ? "n/a" : seconds < 120 ? `${Math.round(seconds)} s ago` : `${Math.round(seconds / 60)} min ago`);
const ago = (at: string, nowMs: number) => age((nowMs - Date.parse(at)) / 1000);

function heartbeat(role: StackRole, s: HostStatus): string {
    const h = s.heartbeat;
    if (!h) return "n/a (older agent)";
    if (h.at === null) return role === "primary" ? "none sent yet" : "none received yet";
    if (role === "primary") return `sent ${age(h.ageSeconds)}, ${h.ok ? "taken by the standby" : `not delivered (${h.error ?? "failed"})`}`;
    return `received ${age(h.ageSeconds)}${h.ok ? "" : `, none for longer than ${h.downAfterSeconds} s`}`;
}

function stackRows(snapshot: StatusSnapshot): string[] {
    return table([
        ["stack", "config", "recorded", "last update"],
        ...ROLES.map((role) => {
            const s = snapshot.stacks[role];
            const last = s.lastUpdate ? `${s.lastUpdate.result}${s.lastUpdate.endTime ? ` ${s.lastUpdate.endTime.toISOString()}` : ""}` : "never";
            return [s.name, s.config, s.recorded ?? "-", last];
        }),
    ]);
}

function hostRows(snapshot: StatusSnapshot): string[] {
    return table([
        ["host", "address", "serving", "heartbeat"],
        ...ROLES.map((role) => {
            const h = snapshot.hosts[role];
            const a = h.answer;
            return a.ok ? [role, h.address ?? "?", isServing(a.status) ? "yes" : "no", heartbeat(role, a.status)] : [role, h.address ?? "?", "?", "agent not reached (see below)"];
        }),
    ]);
}

function replicationLines(primary: HostStatus | undefined, nowMs: number): string[] {
    const r = primary?.replication;
    if (!r) return [];
    const lines = [`replication (primary -> standby): Litestream ${r.litestream}`];
    const dbs = Object.entries(r.lagSeconds);
    if (dbs.length) lines.push(...table(dbs.map(([db, lag]) => [`  ${db}`, lag === null ? "lag unknown (no position yet)" : `lag ${lag.toFixed(1)} s`])));
    const sync = r.fileSync;
    lines.push(`  file sync: ${sync ? `${sync.ok ? "ok" : `FAILED${sync.reason ? ` (${sync.reason})` : ""}`} at ${sync.at} (${ago(sync.at, nowMs)})` : "none yet"}`);
    if (r.lettaDump) lines.push(`  Letta dump: ${r.lettaDump.skipped ? `skipped (${r.lettaDump.reason ?? ""})` : r.lettaDump.ok ? `ok at ${r.lettaDump.at}` : `FAILED at ${r.lettaDump.at}`}`);
    return lines;
}

function eventLines(primary: HostStatus | undefined, standby: HostStatus | undefined): string[] {
    const lines: string[] = [];
    const drill = primary?.lastDrill;
    if (drill !== undefined) lines.push(`last drill: ${drill ? `${drill.at}: ${drill.ok ? "passed" : `FAILED${drill.failed ? ` (${drill.failed})` : ""}`}${drill.primaryOffMs !== null ? `, primary off ${(drill.primaryOffMs / 1000).toFixed(1)} s` : ""}` : "none yet"}`);
    const t = standby?.takeover;
    if (t) lines.push(`last takeover: ${t.at}, ${t.automatic ? "automatic" : t.planned ? "planned" : "emergency"}${t.automatic ? (t.acknowledged ? ", acknowledged" : ", NOT acknowledged") : ""} (${t.reason})`);
    const h = standby?.handback;
    if (h) lines.push(`last handback: ${h.id} at ${h.at}, ${handbackWords(h)}`);
    if (standby?.handbackOwed && !isServing(standby)) lines.push("handback owed: the standby took over since its last export and has not handed back what it wrote");
    for (const k of standby?.keptExports ?? []) lines.push(`kept export: ${k.id} in ${k.path}, for a merge by hand`);
    if (primary?.lastMerge) lines.push(`last merge on the primary: ${primary.lastMerge.id} at ${primary.lastMerge.at}`);
    if (primary?.reseedOwed) lines.push(`replication owed a fresh start since ${primary.reseedOwed.at} (export ${primary.reseedOwed.handbackId}): NOT done yet`);
    if (primary?.standbyForgotten) lines.push(`forget-standby of ${primary.standbyForgotten.at} stands for the next failback`);
    if (primary?.serveOverrideUntil) lines.push(`override-serve in force on the primary until ${primary.serveOverrideUntil}`);
    const skew = standby?.clockSkew;
    if (skew) {
        const seconds = `${(Math.abs(skew.aheadMs) / 1000).toFixed(1)} s`;
        const over = Math.abs(skew.aheadMs) > skew.allowedMs ? `, MORE than the ${skew.allowedMs / 1000} s allowed` : "";
        lines.push(`clocks: the primary's is ${seconds} ${skew.aheadMs >= 0 ? "ahead of" : "behind"} the standby's, transit included (heartbeat of ${skew.at})${over}`);
    }
    return lines;
}

function handbackWords(h: NonNullable<HostStatus["handback"]>): string {
    switch (h.state ?? (h.merged ? "merged" : "exported")) {
        case "exporting":
            return "NOT complete (the standby stopped halfway through its export)";
        case "exported":
            return "NOT merged";
        case "kept":
            return `kept aside for a merge by hand${h.keptIn ? ` in ${h.keptIn}` : ""}`;
        default:
            return "merged";
    }
}

export function renderStatus(snapshot: StatusSnapshot, assessment: Assessment, nowMs: number): string[] {
    const answer = (role: StackRole) => (snapshot.hosts[role].answer.ok ? (snapshot.hosts[role].answer as { status: HostStatus }).status : undefined);
    const lines = [`wirebot-ops status at ${snapshot.at} (project ${snapshot.project})`, ""];
    lines.push(`active side: the config says ${assessment.expected ?? "different sides on the two stacks"}; serving now: ${assessment.serving.join(" and ") || "nobody (among the hosts that answered)"}`);
    if (snapshot.inProgress) lines.push(`in progress: ${snapshot.inProgress}`);
    lines.push("", ...stackRows(snapshot), "", ...hostRows(snapshot));
    const details = [...replicationLines(answer("primary"), nowMs), ...eventLines(answer("primary"), answer("standby"))];
    if (details.length) lines.push("", ...details);
    const next = snapshot.stacks.standby.nextCommand;
    lines.push("");
    if (next) lines.push(`next (standby stack): ${next}`);
    const fix = assessment.findings.find((f) => f.fix)?.fix;
    if (assessment.findings.length) {
        lines.push("", "findings:");
        for (const f of assessment.findings) {
            lines.push(`  ${f.severity.toUpperCase().padEnd(8)}  ${f.message}`);
            if (f.fix) lines.push(`            what to do: ${f.fix}`);
        }
    }
    lines.push("", `health: ${assessment.health} (exit ${assessment.exitCode})${fix && assessment.exitCode ? `; first: ${fix}` : ""}`);
    return lines;
}

/** The same as one JSON document; no secret is in it (the SSH keys never enter the snapshot). */
export function statusJson(snapshot: StatusSnapshot, assessment: Assessment): unknown {
    return {
        at: snapshot.at,
        project: snapshot.project,
        health: assessment.health,
        exitCode: assessment.exitCode,
        activeSide: { config: { primary: snapshot.stacks.primary.config, standby: snapshot.stacks.standby.config }, expected: assessment.expected ?? null, serving: assessment.serving },
        inProgress: snapshot.inProgress ?? null,
        stacks: snapshot.stacks,
        hosts: Object.fromEntries(
            ROLES.map((role) => {
                const h = snapshot.hosts[role];
                return [role, h.answer.ok ? { address: h.address ?? null, reachable: true, status: h.answer.status } : { address: h.address ?? null, reachable: false, error: h.answer.error, fix: h.answer.fix }];
            }),
        ),
        findings: assessment.findings,
        nextCommand: snapshot.stacks.standby.nextCommand ?? null,
    };
}
