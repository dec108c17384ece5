import type { EngineEvent } from "@pulumi/pulumi/automation";

// What the operator's commands need from Pulumi: two stacks of this project,
// their config, outputs and last update, and up/preview with engine events.
// automation.ts implements it with the Automation API; tests use fakes.

export type Side = "primary" | "standby";
/** The two stacks a flip acts on; tenant stacks never change with the active side. */
export type StackRole = "primary" | "standby";
export const STACK_ROLES: readonly StackRole[] = ["primary", "standby"];
export const ACTIVE_SIDE_KEY = "wirebot:activeSide";
/** What the program assumes when the stack's config does not name a side (src/config/schema.ts). */
export const DEFAULT_SIDE: Side = "primary";

export function asSide(value: unknown): Side | undefined {
    return value === "primary" || value === "standby" ? value : undefined;
}

export interface OutputValue {
    value: unknown;
    secret: boolean;
}

/** The stack's latest update (not preview, not refresh) as its history records it. */
export interface LastUpdate {
    result: "succeeded" | "failed" | "in-progress" | "not-started";
    /** `wirebot:activeSide` in the config that update ran with. */
    activeSide: Side | undefined;
    endTime?: Date;
}

export type EventSink = (event: EngineEvent) => void;

export interface OpsStack {
    /** The role of this stack in the project. */
    readonly role: StackRole;
    /** The stack's name as Pulumi knows it (`primary`, or `org/primary`). */
    readonly name: string;
    getConfig(key: string): Promise<string | undefined>;
    setConfig(key: string, value: string): Promise<void>;
    outputs(): Promise<Record<string, OutputValue>>;
    lastUpdate(): Promise<LastUpdate | undefined>;
    /** `pulumi up`; throws a StackLocked, or an UpFailed carrying the engine's error text. */
    up(onEvent: EventSink): Promise<void>;
    /** `pulumi preview` with these config values in place of the stack's, which stays as it is. */
    preview(onEvent: EventSink, config: Record<string, string>): Promise<void>;
}

export interface OpsProject {
    /** The Pulumi project directory. */
    readonly dir: string;
    stack(role: StackRole): Promise<OpsStack>;
}

/** Another update holds the stack's lock: a `pulumi up` elsewhere, or another wirebot-ops command. */
export class StackLocked extends Error {
    constructor(
        readonly stack: string,
        /** Who holds it, in words, as far as the backend says. */
        readonly holder: string,
    ) {
        super(`stack ${stack} is being updated by ${holder}`);
    }
}

/** `pulumi up` or `preview` failed; the text is the engine's output (stdout and stderr). */
export class UpFailed extends Error {
    constructor(
        readonly stack: string,
        readonly text: string,
    ) {
        super(`pulumi up of stack ${stack} failed`);
    }
}

/** The stack does not exist in the backend, or Pulumi itself cannot run; the message says what to do. */
export class StackUnavailable extends Error {}
