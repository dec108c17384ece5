import * as fs from "node:fs";
import * as path from "node:path";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import type { Io } from "../../src/cli/io";
import { ACTIVE_SIDE_KEY, asSide, EventSink, LastUpdate, OpsProject, OpsStack, OutputValue, Side, StackLocked, StackRole, UpFailed } from "../../src/cli/stacks";

// Stand-ins for the Automation API adapter, for the operator CLI's tests: two
// stacks that record what was done to them and answer ups the way the engine
// does (a failed up records the program's outputs too), and recorded engine
// events to replay.

export interface Recorded {
    recorded: string;
    events: { at: number; event: EngineEvent }[];
}

export function recording(name: string): Recorded {
    return JSON.parse(fs.readFileSync(path.join(__dirname, "engine-events", `${name}.json`), "utf8")) as Recorded;
}

/**
 * What an up does: succeed, be refused by the host agent, serve with a debt
 * (the flip exited 75: set-serving.sh starts the services, then fails the
 * step), fail otherwise, or find the stack locked.
 */
export type UpBehaviour = { kind: "ok"; lines?: string[] } | { kind: "refused"; reason: string } | { kind: "debt"; reason: string } | { kind: "failed"; error: string } | { kind: "locked"; holder: string };

const urn = (stack: string, name: string) => `urn:pulumi:${stack}::wirebot-failover::command:remote:Command::${name}`;

/** The events of an up whose only change is the host's serving step. */
export function servingStepEvents(stack: StackRole, outcome: UpBehaviour): EngineEvent[] {
    const u = urn(stack, `${stack}-serving`);
    const meta = (op: string) => ({ metadata: { op, urn: u, type: "command:remote:Command", provider: "" } }) as unknown as EngineEvent["resourcePreEvent"];
    const events: EngineEvent[] = [{ sequence: 1, timestamp: 0, resourcePreEvent: meta("create-replacement") }];
    const info = (message: string) => events.push({ sequence: 2, timestamp: 0, diagnosticEvent: { urn: u, message: `${message}\n`, color: "never", severity: "info", ephemeral: true } });
    if (outcome.kind === "ok") {
        for (const line of outcome.lines ?? []) info(line);
        events.push({ sequence: 3, timestamp: 0, resOutputsEvent: meta("create-replacement") as never });
        events.push({ sequence: 4, timestamp: 0, summaryEvent: { result: "succeeded", resourceChanges: { replace: 1, same: 30 } } as never });
    } else if (outcome.kind === "refused" || outcome.kind === "debt" || outcome.kind === "failed") {
        // The lines set-serving.sh prints in each case (host/scripts/set-serving.sh).
        const output =
            outcome.kind === "refused"
                ? [`wirebot-failover: ${outcome.reason}`, "refused: the serving role is left as it was"]
                : outcome.kind === "debt"
                  ? [
                        `wirebot-failover: ${outcome.reason}`,
                        "serving: openclaw-gateway.service wirebot-scoreboard.service, connector cloudflared-wirebot.service on",
                        "serving, but the flip left a debt (above); this run fails so that the next pulumi up pays it",
                    ]
                  : [outcome.error];
        for (const line of output) info(line);
        const error = `Process exited with status 1: running "timeout -k 10 310 sh -s -- create; rc=$?; exit $rc":\n${output.join("\n")}\n`;
        events.push({ sequence: 5, timestamp: 0, diagnosticEvent: { urn: u, prefix: "error: ", message: error, color: "never", severity: "error" } });
        events.push({ sequence: 6, timestamp: 0, resOpFailedEvent: { ...(meta("create-replacement") as object), status: 0, steps: 1 } as never });
        events.push({ sequence: 7, timestamp: 0, summaryEvent: { result: "failed", resourceChanges: { same: 30 } } as never });
    }
    return events;
}

export class FakeStack implements OpsStack {
    config: Record<string, string>;
    outputsMap: Record<string, OutputValue>;
    last: LastUpdate | undefined;
    readonly ups: UpBehaviour[] = [];

    constructor(
        readonly role: StackRole,
        readonly name: string,
        private readonly log: string[],
        init: { config?: Side; applied?: Side; lastFailed?: boolean; outputs?: Record<string, OutputValue> },
    ) {
        this.config = init.config ? { [ACTIVE_SIDE_KEY]: init.config } : {};
        this.outputsMap = { ...(init.outputs ?? {}), ...(init.applied ? { activeSide: { value: init.applied, secret: false } } : {}) };
        this.last = init.applied ? { result: init.lastFailed ? "failed" : "succeeded", activeSide: init.applied } : undefined;
    }

    async getConfig(key: string) {
        return this.config[key];
    }
    async setConfig(key: string, value: string) {
        this.log.push(`set ${this.name} ${key}=${value}`);
        this.config[key] = value;
    }
    async outputs() {
        return this.outputsMap;
    }
    async lastUpdate() {
        return this.last;
    }
    async up(onEvent: EventSink) {
        this.log.push(`up ${this.name}`);
        const outcome = this.ups.shift() ?? { kind: "ok" };
        if (outcome.kind === "locked") throw new StackLocked(this.name, outcome.holder);
        for (const event of servingStepEvents(this.role, outcome)) onEvent(event);
        const side = asSide(this.config[ACTIVE_SIDE_KEY]) ?? "primary";
        // As the engine does: the program's outputs are recorded even when a step fails.
        this.outputsMap = { ...this.outputsMap, activeSide: { value: side, secret: false } };
        this.last = { result: outcome.kind === "ok" ? "succeeded" : "failed", activeSide: side };
        if (outcome.kind !== "ok") throw new UpFailed(this.name, "error: update failed");
    }
    async preview(onEvent: EventSink, config: Record<string, string>) {
        this.log.push(`preview ${this.name} ${Object.entries(config).map(([k, v]) => `${k}=${v}`).join(" ")}`);
        for (const { event } of recording("preview-switchover-primary").events) onEvent(event);
    }
}

export function fakeProject(dir: string, states: Record<StackRole, ConstructorParameters<typeof FakeStack>[3]>): { project: OpsProject; log: string[]; stacks: Record<StackRole, FakeStack> } {
    const log: string[] = [];
    const stacks = { primary: new FakeStack("primary", "primary", log, states.primary), standby: new FakeStack("standby", "standby", log, states.standby) };
    return { project: { dir, stack: async (role) => stacks[role] }, log, stacks };
}

/** An Io that keeps what is written and a clock that moves 100 ms per reading. */
export function bufferIo(): Io & { lines: string[]; errors: string[]; text(): string } {
    let t = 1_000_000;
    const lines: string[] = [];
    const errors: string[] = [];
    return { lines, errors, out: (l) => lines.push(l), err: (l) => errors.push(l), now: () => (t += 100), text: () => [...lines, ...errors].join("\n") };
}
