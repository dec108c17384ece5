import type { EngineEvent } from "@pulumi/pulumi/automation";

// Engine events of one `pulumi up` (or preview) turned into a short step list:
// each resource that changes, its operation and how long it took, with the
// lines the hosts' agent printed (`wirebot-failover: ...`) under it. Resources
// that stay the same are counted, not listed.

/** Lines the host agent prints in a serving step: the flip's outcome or its refusal. */
export const HOST_LINE = /^wirebot-failover: /;

export interface StepRecord {
    /** The resource's name, e.g. primary-serving. */
    resource: string;
    op: string;
    ms?: number;
    ok?: boolean;
    /** The host agent's lines printed while the step ran. */
    hostLines: string[];
    /** The engine's error for this step, when it failed. */
    error?: string;
}

const OP_WORDS: Record<string, string> = {
    create: "create",
    update: "update",
    delete: "delete",
    "create-replacement": "replace",
    "delete-replaced": "remove old",
    import: "import",
};

/** Operations that are bookkeeping around another step (`replace` marks a create-replacement) or change nothing. */
const SILENT_OPS = new Set(["same", "read", "refresh", "replace", "discard", "discard-replaced", "remove-pending-replace"]);

export function resourceName(urn: string): string {
    return urn.slice(urn.lastIndexOf("::") + 2);
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export class Progress {
    readonly steps: StepRecord[] = [];
    /** Errors the engine reported for the program as a whole (a config error, a failed host key check). */
    readonly programErrors: string[] = [];
    result: string | undefined;
    changes: Record<string, number> = {};
    private readonly running = new Map<string, { step: StepRecord; startedMs: number }>();
    private readonly linesByUrn = new Map<string, string[]>();
    private readonly errorsByUrn = new Map<string, string>();

    constructor(
        private readonly write: (line: string) => void,
        private readonly preview = false,
    ) {}

    /** One engine event, received at atMs (the engine's own timestamps are whole seconds). */
    onEvent(event: EngineEvent, atMs: number): void {
        if (event.resourcePreEvent) this.started(event.resourcePreEvent.metadata.urn, event.resourcePreEvent.metadata.op, atMs);
        else if (event.resOutputsEvent) this.finished(event.resOutputsEvent.metadata.urn, event.resOutputsEvent.metadata.op, atMs, true);
        else if (event.resOpFailedEvent) this.finished(event.resOpFailedEvent.metadata.urn, event.resOpFailedEvent.metadata.op, atMs, false);
        else if (event.diagnosticEvent) this.diagnostic(event.diagnosticEvent);
        else if (event.summaryEvent) {
            // The engine sends the update's result too; the SDK's type leaves it out.
            this.result = (event.summaryEvent as { result?: string }).result;
            this.changes = event.summaryEvent.resourceChanges as Record<string, number>;
        }
    }

    private started(urn: string, op: string, atMs: number): void {
        if (SILENT_OPS.has(op) || urn.includes("::pulumi:providers:") || urn.includes("::pulumi:pulumi:Stack::")) return;
        // A preview lists the replacement once; removing the old instance is part of it.
        if (this.preview && op === "delete-replaced") return;
        const step: StepRecord = { resource: resourceName(urn), op: OP_WORDS[op] ?? op, hostLines: [] };
        this.running.set(`${urn}\0${op}`, { step, startedMs: atMs });
    }

    private finished(urn: string, op: string, atMs: number, ok: boolean): void {
        const key = `${urn}\0${op}`;
        const entry = this.running.get(key);
        if (!entry) return;
        this.running.delete(key);
        const { step } = entry;
        step.ok = ok;
        step.ms = atMs - entry.startedMs;
        step.hostLines = this.linesByUrn.get(urn) ?? [];
        this.linesByUrn.delete(urn);
        if (!ok) step.error = this.errorsByUrn.get(urn);
        this.steps.push(step);
        this.render(step);
    }

    private diagnostic(d: NonNullable<EngineEvent["diagnosticEvent"]>): void {
        // The Automation API turns on the engine's debug lines; the SDK's type leaves that severity out.
        if ((d.severity as string) === "debug") return;
        const message = d.message.replace(/\n+$/, "");
        if (d.severity === "error") {
            if (d.urn && !d.urn.includes("::pulumi:pulumi:Stack::")) this.errorsByUrn.set(d.urn, message);
            else if (message !== "update failed" && message !== "preview failed") this.programErrors.push(message);
            return;
        }
        if (!d.urn) return;
        for (const line of message.split("\n").map((l) => l.trim())) {
            if (!HOST_LINE.test(line)) continue;
            const lines = this.linesByUrn.get(d.urn) ?? [];
            if (!lines.includes(line)) lines.push(line);
            this.linesByUrn.set(d.urn, lines);
        }
    }

    private render(step: StepRecord): void {
        const name = step.resource.padEnd(24);
        const op = step.op.padEnd(10);
        if (this.preview) this.write(`  ~ ${name} would ${step.op}`);
        else if (step.ok) this.write(`  ✓ ${name} ${op} ${seconds(step.ms ?? 0)}`);
        else this.write(`  ✗ ${name} ${op} failed after ${seconds(step.ms ?? 0)}`);
        for (const line of step.hostLines) this.write(`      ${line}`);
    }

    /** Resources that changed (or would), and those that stayed the same, from the engine's summary. */
    counts(): { changed: number; same: number } {
        const same = this.changes.same ?? 0;
        const changed = Object.entries(this.changes)
            .filter(([op]) => op !== "same")
            .reduce((sum, [, n]) => sum + n, 0);
        return { changed, same };
    }

    failedSteps(): StepRecord[] {
        return this.steps.filter((s) => s.ok === false);
    }
}

export { seconds as formatSeconds };
