import { HOST_LINE, StepRecord } from "./progress";
import type { FlipCommand } from "./plan";
import type { StackRole } from "./stacks";

// What a failed `pulumi up` of a flip means for the operator: the hosts
// refused (their reason, nothing changed on them), or the host serves but its
// flip left a debt (the step failed after starting the services), or a step
// failed (which host, the engine's words), or another update holds the stack's
// lock (who).

/** What set-serving.sh prints when the host agent's flip refuses: the serving role is left as it was. */
export const REFUSAL_MARKER = "refused: the serving role is left as it was";
/**
 * What set-serving.sh prints when the flip exited FLIP_SERVED_WITH_DEBT: the
 * host's flip is done and its services and connector run, but something it
 * owes is not (replication did not start again); the step fails so that the
 * next up pays it.
 */
export const DEBT_MARKER = "serving, but the flip left a debt";

export interface Failure {
    /** refused: nothing changed on the host; debt: the host serves, its flip owes a re-run; failed: anything else. */
    kind: "refused" | "debt" | "failed";
    /** The host whose step failed (steps are named <host>-<step>), when the failure is a step's. */
    host?: StackRole;
    /** The failed resource, e.g. standby-serving. */
    resource?: string;
    /** The host agent's own lines: a refusal's reason, or what the flip got to. */
    hostLines: string[];
    /** The engine's error text, without the command line it ran. */
    detail: string[];
}

function unique(lines: string[]): string[] {
    return [...new Set(lines)];
}

export function hostLinesIn(text: string): string[] {
    return unique(
        text
            .split("\n")
            .map((l) => l.trim())
            .filter((l) => HOST_LINE.test(l)),
    );
}

/** The step's error as the command provider words it, `<error>: running "<command>":\n<output>`, without the command. */
export function errorDetail(error: string): string[] {
    const lines = error.split("\n");
    const first = lines[0].replace(/: running ".*":?$/, "");
    return [first, ...lines.slice(1)]
        .map((l) => l.trim())
        .filter((l) => l.length > 0 && !HOST_LINE.test(l) && l !== REFUSAL_MARKER && !l.startsWith(DEBT_MARKER));
}

export function hostOf(resource: string): StackRole | undefined {
    const prefix = resource.split("-")[0];
    return prefix === "primary" || prefix === "standby" ? prefix : undefined;
}

/**
 * Classifies a failed up from its failed steps and program errors, falling back
 * on the engine's output text when the events said nothing (a crash before the
 * event stream started).
 */
export function classifyFailure(failed: StepRecord[], programErrors: string[], text: string): Failure {
    const step = failed[0];
    const everything = [...failed.flatMap((s) => [...s.hostLines, s.error ?? ""]), ...programErrors, text].join("\n");
    const refused = everything.includes(REFUSAL_MARKER);
    const debt = !refused && everything.includes(DEBT_MARKER);
    const hostLines = unique([...failed.flatMap((s) => [...s.hostLines, ...hostLinesIn(s.error ?? "")]), ...(failed.length ? [] : hostLinesIn(text))]);
    let detail: string[];
    if (step?.error) detail = errorDetail(step.error);
    else if (programErrors.length) detail = programErrors.flatMap(programErrorLines);
    else detail = tailOf(text);
    return {
        kind: refused ? "refused" : debt ? "debt" : "failed",
        ...(step ? { resource: step.resource, host: hostOf(step.resource) } : {}),
        hostLines,
        detail: unique(detail).slice(0, 12),
    };
}

/** An exception of the program as the engine reports it, without the runtime's preamble and the stack trace. */
export function programErrorLines(error: string): string[] {
    return error
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => l.length > 0 && !/^at /.test(l) && !/^Running program .* failed with an unhandled exception:$/.test(l));
}

/**
 * The hosts' refusals name their way out in terms of the host commands and a
 * plain `pulumi up`; the same in this command's terms. Only what the host's
 * lines name: nothing is suggested that the host did not.
 */
export function remedies(hostText: string, command: FlipCommand, primaryStackRan = true): string[] {
    const again = `wirebot-ops ${command} again`;
    const found: string[] = [];
    if (/the primary is alive/.test(hostText)) found.push("The primary is up: a planned switchover stops its writes first and loses nothing: wirebot-ops switchover.");
    if (/Acknowledge first/.test(hostText)) found.push("Acknowledge the automatic failover first: wirebot-ops acknowledge; then wirebot-ops failback.");
    if (/the standby is taking over right now/.test(hostText)) found.push("Once the standby serves: wirebot-ops acknowledge, then wirebot-ops failback.");
    if (/Bring the standby's agent back/.test(hostText)) {
        found.push(`Bring the standby's agent back${/the heartbeat token, the clocks/.test(hostText) ? " (or fix what the message names: the heartbeat token, the clocks)" : ""}, then run ${again}.`);
    }
    if (/forget-standby/.test(hostText) && !/forget-standby of \S+ stands/.test(hostText)) {
        found.push(`If the standby is lost for good, and its writes with it: run wirebot-failover forget-standby on the primary, then ${again} (it gives up the writes; who serves still needs the witness or override-serve).`);
    }
    if (/override-serve/.test(hostText)) {
        found.push(`If you know that the standby does not serve: run wirebot-failover override-serve on the primary (valid 15 minutes), then ${again}.`);
    }
    if (/keep-export/.test(hostText)) {
        found.push("Merge the standby's export into the primary first: wirebot-ops failback finishes a failback left halfway; on a primary that already serves, run wirebot-failover flip serve there.");
        if (command === "failover") found.push(`If the primary is lost and cannot take it: run wirebot-failover keep-export on the standby (it sets the export aside for a merge by hand), then ${again}.`);
    }
    if (command === "failback" && !primaryStackRan && /still takes writes and the primary has not taken them/.test(hostText)) {
        found.push("The primary stack did not run: its last update already applied primary (as after wirebot-ops failover), so it has nothing to change. Once the primary is back: wirebot-ops acknowledge, then wirebot-ops failback.");
    }
    if (/activate --force/.test(hostText)) found.push(`If you know that the primary is down: run wirebot-failover activate --force on the standby, then ${again}, which finds it serving and records it.`);
    return found;
}

/** The end of the engine's output, past its progress lines: the error lines. */
function tailOf(text: string): string[] {
    const lines = text.split("\n").map((l) => l.trim());
    const errors = lines.filter((l) => /^error:/i.test(l));
    return (errors.length ? errors : lines.filter(Boolean).slice(-6)).map((l) => l.replace(/^error:\s*/i, ""));
}

/**
 * Who holds a stack's update lock, in words, from the Pulumi CLI's message:
 * the file backend names the lock's user, host, process and time; Pulumi
 * Cloud answers 409.
 */
export function lockHolder(message: string): string {
    const holders = [...new Set([...message.matchAll(/created by (\S+) \(pid (\d+)\) at (\S+)/g)].map((m) => `${m[1]}, process ${m[2]}, since ${m[3]}`))];
    if (holders.length) return `another update (${holders.join("; ")})`;
    if (message.includes("Another update is currently in progress")) return "another update in progress in Pulumi Cloud (its activity page names who started it)";
    return "another update";
}

/** The operator's message for a locked stack. */
export function lockedMessage(stack: string, holder: string, changedSomething: boolean): string[] {
    return [
        `stack ${stack} is locked: ${holder} is running on it: a pulumi up, or another wirebot-ops command.`,
        changedSomething ? "Steps before this one were done (above); run this command again once the lock is released to finish." : "Nothing was changed.",
        `Wait for that update to finish, then run this again. Only if that process no longer runs (killed, machine rebooted): pulumi cancel -s ${stack} removes its lock.`,
    ];
}
