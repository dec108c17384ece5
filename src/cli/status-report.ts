import { AGENT_STATE_DIR, type HostStatus } from "../../agent/contract";
import { CONNECTOR_UNIT } from "../render/service-units";
import type { AgentAnswer } from "./agents";
import type { LastUpdate, Side, StackRole } from "./stacks";

// What `wirebot-ops status` concludes from the stacks and the hosts' answers:
// findings, each with what to do, and the exit code. Pure, so recorded
// answers test it.

export interface StackSummary {
    name: string;
    config: Side;
    recorded: Side | undefined;
    applied: Side | undefined;
    lastUpdate: LastUpdate | undefined;
    nextCommand: string | undefined;
}

export interface HostSummary {
    address: string | undefined;
    answer: AgentAnswer;
}

export interface StatusSnapshot {
    at: string;
    project: string;
    stacks: Record<StackRole, StackSummary>;
    hosts: Record<StackRole, HostSummary>;
    /** A wirebot-ops flip running right now, in words. */
    inProgress?: string;
}

export type Severity = "critical" | "unknown" | "warning";

export interface Finding {
    severity: Severity;
    message: string;
    fix?: string;
}

export interface Assessment {
    /** The side the config names, when both stacks agree. */
    expected: Side | undefined;
    /** The hosts that run the connector, among those that answered. */
    serving: StackRole[];
    findings: Finding[];
    exitCode: number;
    health: "healthy" | "attention" | "serving problem" | "unknown";
}

export const STATUS_EXIT = { healthy: 0, attention: 1, usage: 2, serving: 3, unknown: 4, stacks: 5 } as const;

export interface AssessOptions {
    maxLagSeconds: number;
    /** File syncs older than this count as stale (the timer runs one every 15 minutes). */
    maxFileSyncAgeSeconds: number;
    nowMs: number;
}

export const DEFAULT_ASSESS = { maxLagSeconds: 60, maxFileSyncAgeSeconds: 30 * 60 };

const other = (role: StackRole): StackRole => (role === "primary" ? "standby" : "primary");
const flipTo = (side: Side) => (side === "standby" ? "wirebot-ops switchover" : "wirebot-ops failback");
const ago = (at: string, nowMs: number) => `${Math.max(0, Math.round((nowMs - Date.parse(at)) / 1000))} s ago`;

export function isServing(status: HostStatus): boolean {
    return status.serving ?? status.units[CONNECTOR_UNIT]?.active === "active";
}

export function assess(snapshot: StatusSnapshot, options: AssessOptions): Assessment {
    const { stacks, hosts } = snapshot;
    const expected = stacks.primary.config === stacks.standby.config ? stacks.primary.config : undefined;
    const answered = (role: StackRole) => {
        const a = hosts[role].answer;
        return a.ok ? a.status : undefined;
    };
    const serving = (["primary", "standby"] as const).filter((r) => {
        const s = answered(r);
        return s !== undefined && isServing(s);
    });
    const findings: Finding[] = [
        ...unreachable(snapshot),
        ...servingFindings(snapshot, expected, serving, answered),
        ...configFindings(snapshot),
        ...heartbeatFindings(answered("primary"), answered("standby")),
        ...(expected === "primary" && serving.includes("primary") ? replicationFindings(answered("primary")!, options) : []),
        ...drillFindings(answered("primary")),
        ...failbackFindings(snapshot, answered("primary"), serving),
        ...standbyFindings(snapshot, answered("primary"), answered("standby"), serving),
        ...clockFindings(answered("standby")),
    ];
    const has = (s: Severity) => findings.some((f) => f.severity === s);
    const [exitCode, health] = has("critical")
        ? [STATUS_EXIT.serving, "serving problem" as const]
        : has("unknown")
          ? [STATUS_EXIT.unknown, "unknown" as const]
          : has("warning")
            ? [STATUS_EXIT.attention, "attention" as const]
            : [STATUS_EXIT.healthy, "healthy" as const];
    return { expected, serving, findings, exitCode, health };
}

function unreachable(snapshot: StatusSnapshot): Finding[] {
    return (["primary", "standby"] as const).flatMap((role) => {
        const a = snapshot.hosts[role].answer;
        return a.ok ? [] : [{ severity: "unknown" as const, message: a.error, fix: a.fix }];
    });
}

function servingFindings(snapshot: StatusSnapshot, expected: Side | undefined, serving: StackRole[], answered: (r: StackRole) => HostStatus | undefined): Finding[] {
    const takeover = answered("standby")?.takeover;
    if (serving.length === 2) {
        return [{ severity: "critical", message: "both hosts run the tunnel connector", fix: `at once: the config names ${expected ?? "no single side"}; stop the other host's connector (systemctl disable --now ${CONNECTOR_UNIT}) and check with wirebot-ops status` }];
    }
    if (serving.length === 0) {
        const bothAnswered = answered("primary") && answered("standby");
        if (answered("standby")?.activating) return [{ severity: "critical", message: "nobody serves yet: the standby is taking over right now", fix: "check again in a few seconds" }];
        if (bothAnswered) return [{ severity: "critical", message: "nobody serves: neither host runs the tunnel connector", fix: expected ? `pulumi up -s ${snapshot.stacks[expected].name} starts the ${expected}'s serving role` : "set the same wirebot:activeSide on both stacks first" }];
        if (expected && answered(expected)) {
            const fix = expected === "standby" ? "wirebot-ops failover" : primaryWithoutStandby(snapshot);
            return [{ severity: "critical", message: `the ${expected} (the configured side) does not serve, and the ${other(expected)} cannot be asked`, fix }];
        }
        if (expected && answered(other(expected))) {
            // The configured side may serve unseen; if it is gone, nobody does.
            const fix =
                expected === "primary"
                    ? "if the primary is down: wirebot-ops failover"
                    : `if the standby is down and the primary is to serve again: wirebot-ops failback, which needs the standby's agent to answer; ${LOST_STANDBY}`;
            return [{ severity: "unknown", message: `the ${expected} (the configured side) cannot be asked, and the ${other(expected)} does not serve: if the ${expected} is down, nobody serves`, fix }];
        }
        return [];
    }
    const side = serving[0];
    if (expected === undefined || side === expected) return [];
    if (side === "standby" && takeover?.automatic && !takeover.acknowledged) {
        return [
            {
                severity: "critical",
                message: `the standby took over automatically at ${takeover.at} (${takeover.reason}); the config still says primary and a failback is refused until it is acknowledged`,
                fix: "wirebot-ops acknowledge (primary back) or wirebot-ops failover (primary still down); then wirebot-ops failback",
            },
        ];
    }
    return [{ severity: "critical", message: `the ${side} serves, but the config says ${expected}: a flip is half done`, fix: flipTo(expected) }];
}

function configFindings(snapshot: StatusSnapshot): Finding[] {
    const { primary, standby } = snapshot.stacks;
    if (primary.config !== standby.config) {
        return [
            {
                severity: "warning",
                message: `the stacks' config differs: wirebot:activeSide is ${primary.config} on stack ${primary.name}, ${standby.config} on stack ${standby.name}`,
                fix: `set the same side on both: ${flipTo(standby.config)}`,
            },
        ];
    }
    return (["primary", "standby"] as const).flatMap((role) => {
        const s = snapshot.stacks[role];
        if (s.applied === s.config) return [];
        const last = s.lastUpdate ? (s.lastUpdate.result === "succeeded" ? `applied ${s.lastUpdate.activeSide}` : `${s.lastUpdate.result}`) : "never ran";
        // After an emergency failover the primary stack waits for the primary to come back.
        const fix = role === "primary" && s.config === "standby" && snapshot.stacks.standby.applied === "standby" ? "once the primary is back: wirebot-ops acknowledge" : flipTo(s.config);
        return [{ severity: "warning" as const, message: `stack ${s.name} says ${s.config}, but its last update ${last}`, fix }];
    });
}

function heartbeatFindings(primary: HostStatus | undefined, standby: HostStatus | undefined): Finding[] {
    const found: Finding[] = [];
    const sent = primary?.heartbeat;
    if (sent && sent.ok === false) found.push({ severity: "warning", message: `the primary's heartbeats do not reach the standby (${sent.error ?? "failed"})`, fix: "check the link between the hosts and the standby's wirebot-watchdog" });
    const received = standby?.heartbeat;
    if (received && received.ok === false) {
        found.push({ severity: "warning", message: `the standby has had no heartbeat for ${Math.round(received.ageSeconds ?? 0)} s (the primary counts as down after ${received.downAfterSeconds} s)` });
    }
    return found;
}

function replicationFindings(primary: HostStatus, options: AssessOptions): Finding[] {
    const r = primary.replication;
    if (!r) return [];
    const found: Finding[] = [];
    if (r.litestream !== "active") found.push({ severity: "warning", message: `Litestream is ${r.litestream} on the primary: the standby's replicas fall behind`, fix: "journalctl -u wirebot-litestream on the primary" });
    for (const [db, lag] of Object.entries(r.lagSeconds)) {
        if (lag !== null && lag > options.maxLagSeconds) found.push({ severity: "warning", message: `replication of ${db} lags ${lag.toFixed(1)} s (more than ${options.maxLagSeconds} s)`, fix: "journalctl -u wirebot-litestream on the primary" });
    }
    const sync = r.fileSync;
    if (sync && !sync.ok) found.push({ severity: "warning", message: `the last file sync failed at ${sync.at}${sync.reason ? ` (${sync.reason})` : ""}`, fix: "journalctl -u wirebot-file-sync on the primary" });
    else if (sync && options.nowMs - Date.parse(sync.at) > options.maxFileSyncAgeSeconds * 1000) {
        found.push({ severity: "warning", message: `no file sync since ${sync.at} (${ago(sync.at, options.nowMs)})`, fix: "systemctl status wirebot-file-sync.timer on the primary" });
    }
    if (r.lettaDump && !r.lettaDump.ok && !r.lettaDump.skipped) found.push({ severity: "warning", message: `the last Letta dump failed at ${r.lettaDump.at}${r.lettaDump.reason ? ` (${r.lettaDump.reason})` : ""}` });
    return found;
}

function drillFindings(primary: HostStatus | undefined): Finding[] {
    const drill = primary?.lastDrill;
    if (!drill || drill.ok) return [];
    return [{ severity: "warning", message: `the last fire drill (${drill.at}) failed${drill.failed ? `: ${drill.failed}` : ""}`, fix: "/var/log/wirebot/fire-drill.log on the primary" }];
}

/** The host agent's refusal when the standby cannot be asked, in this command's terms (agent/src/takeover/failback.ts, standby-unknown.ts). */
const LOST_STANDBY =
    "if the standby is lost for good, and its writes with it: wirebot-failover forget-standby on the primary, then wirebot-ops failback " +
    "(that gives up the writes; the primary still starts only once the witness shows nobody serving, or after wirebot-failover override-serve there)";

/** The primary is to serve but cannot ask the standby: its units' may-serve check keeps them off until the standby or the witness says nobody else serves. */
function primaryWithoutStandby(snapshot: StatusSnapshot): string {
    const failbackLeft = snapshot.stacks.primary.applied !== "primary";
    return (
        "bring the standby's agent back (the primary's units ask it before they start); " +
        (failbackLeft
            ? `then wirebot-ops failback; ${LOST_STANDBY}`
            : "if you know that the standby does not serve: wirebot-failover override-serve on the primary (15 minutes), then systemctl start its units")
    );
}

/**
 * What merges the standby's writes into the primary: a failback (the primary
 * stack's flip), or, on a primary that already serves as its stack applied it
 * (a plain up has nothing to run), the host agent's flip run there by hand.
 */
function mergeCommand(snapshot: StatusSnapshot, serving: StackRole[], complete: boolean): string {
    const does = complete ? "merges it" : "has the standby finish its export and merges it";
    if (snapshot.stacks.primary.applied === "primary" && snapshot.stacks.primary.config === "primary" && serving.includes("primary")) {
        return `wirebot-failover flip serve on the primary (it already serves; that ${does})`;
    }
    return `wirebot-ops failback (it ${does})`;
}

function failbackFindings(snapshot: StatusSnapshot, primary: HostStatus | undefined, serving: StackRole[]): Finding[] {
    if (!primary) return [];
    const found: Finding[] = [];
    const owed = primary.reseedOwed;
    if (owed && serving.includes("primary")) {
        const again =
            snapshot.stacks.primary.applied === "primary" ? "wirebot-failover flip serve on the primary (it already serves)" : "wirebot-ops failback again (the primary serves; the re-run finishes its flip)";
        found.push({
            severity: "warning",
            message: `the primary serves, but replication has not started again since the failback that merged export ${owed.handbackId} (${owed.at}): the standby holds no fresh replica (the flip left a debt)`,
            fix: `fix the cause (journalctl -u wirebot-litestream on the primary), then ${again}: it replicates afresh`,
        });
    } else if (owed) {
        found.push({ severity: "warning", message: `a failback began merging export ${owed.handbackId} (${owed.at}) and has not finished`, fix: "wirebot-ops failback (running it again finishes it)" });
    }
    if (primary.standbyForgotten) {
        found.push({
            severity: "warning",
            message: `the operator's forget-standby of ${primary.standbyForgotten.at} stands on the primary: the next failback that cannot ask the standby serves without the standby's writes`,
            fix: `if that is no longer meant: rm ${AGENT_STATE_DIR}/standby-forgotten.json on the primary`,
        });
    }
    if (primary.serveOverrideUntil) {
        found.push({
            severity: "warning",
            message: `override-serve is in force on the primary until ${primary.serveOverrideUntil}: its units and the failback flip start without the standby's or the witness's word that the standby does not serve`,
        });
    }
    return found;
}

function standbyFindings(snapshot: StatusSnapshot, primary: HostStatus | undefined, standby: HostStatus | undefined, serving: StackRole[]): Finding[] {
    if (!standby) return [];
    const found: Finding[] = [];
    if (standby.activating && serving.length > 0) found.push({ severity: "warning", message: "an activation runs on the standby right now" });
    const h = standby.handback;
    const state = h ? (h.state ?? (h.merged ? "merged" : "exported")) : undefined;
    const standbyServes = serving.includes("standby");
    // A primary that cannot be asked may be lost: then only keep-export frees the standby to take over again.
    const keep = primary ? "" : "; if the primary is lost for good and cannot take it: wirebot-failover keep-export on the standby sets it aside for a merge by hand";
    if (h && state === "exporting" && !standbyServes) {
        found.push({ severity: "warning", message: `the standby's hand-back stopped halfway: export ${h.id} (${h.at}) is not complete, and the writes it took exist only on the standby`, fix: `${mergeCommand(snapshot, serving, false)}${keep}` });
    } else if (h && state === "exported" && !standbyServes) {
        found.push({ severity: "warning", message: `the standby's export ${h.id} (${h.at}) is not merged into the primary`, fix: `${mergeCommand(snapshot, serving, true)}${keep}` });
    } else if (standby.handbackOwed && !standbyServes) {
        const fix =
            snapshot.stacks.primary.applied === "primary" && serving.includes("primary")
                ? "wirebot-failover deactivate on the standby (it exports what it wrote), then wirebot-failover flip serve on the primary (it merges it)"
                : "wirebot-ops failback (it has the standby export what it wrote and merges it)";
        found.push({ severity: "warning", message: `the standby took over${standby.takeover ? ` at ${standby.takeover.at}` : ""} and stopped without handing back what it wrote`, fix });
    }
    const kept = standby.keptExports ?? (h && state === "kept" ? [{ id: h.id, path: h.keptIn ?? "kept/" + h.id }] : []);
    for (const k of kept) {
        found.push({
            severity: "warning",
            message: `the standby's export ${k.id} was kept aside (keep-export) in ${k.path}: the writes it holds are in no live database until merged by hand`,
            fix: "copy the directory to the primary and wirebot-merge each copy there into the live database its manifest.json names; nothing merges or removes a kept export: remove it from the standby once merged",
        });
    }
    return found;
}

function clockFindings(standby: HostStatus | undefined): Finding[] {
    const skew = standby?.clockSkew;
    if (!skew || Math.abs(skew.aheadMs) <= skew.allowedMs) return [];
    const seconds = (Math.abs(skew.aheadMs) / 1000).toFixed(1);
    return [
        {
            severity: "warning",
            message: `the primary's clock is ${seconds} s ${skew.aheadMs >= 0 ? "ahead of" : "behind"} the standby's (more than the ${skew.allowedMs / 1000} s allowed for transit; heartbeat of ${skew.at}): claims to serve and handover calls between the agents are refused until the clocks agree`,
            fix: "fix time sync on both hosts (timedatectl status; chrony or systemd-timesyncd)",
        },
    ];
}
