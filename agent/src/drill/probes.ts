import { execFileSync } from "node:child_process";
import * as crypto from "node:crypto";
import type { Probes } from "../../contract";

export interface ProbeResult {
    name: string;
    ok: boolean;
    ms: number;
    detail: string;
}

const PROBE_TIMEOUT_MS = 15_000;
// A chat is an agent run: OpenClaw's first one after a start took 10-20 s on a
// two-core host, more than the 15 s the other probes get.
const CHAT_TIMEOUT_MS = 60_000;
// The drill probes a side right after starting its services. A service that is
// still starting (the connection refused, or 503) is asked again until this
// much time has passed since the probes began: the real gateway takes 10-30 s
// from its start to listening.
export const START_WAIT_MS = 90_000;
const RETRY_EVERY_MS = 1000;
/** The longest runProbes takes: the start wait, then at most a chat and an event still in flight. */
export const PROBES_MAX_MS = START_WAIT_MS + CHAT_TIMEOUT_MS + PROBE_TIMEOUT_MS + 30_000;
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

class Starting extends Error {}

/** fetch, asked again while the service is still starting, until the deadline. */
async function fetchStarted(url: string, init: RequestInit, timeoutMs: number, deadline: number): Promise<Response> {
    for (;;) {
        let error: Error;
        try {
            const response = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
            if (response.status !== 503) return response;
            await response.arrayBuffer();
            error = new Starting(`HTTP 503`);
        } catch (err) {
            // A timeout is an answer too slow, not a service still starting.
            if ((err as Error).name === "TimeoutError") throw err;
            error = err as Error;
        }
        if (Date.now() + RETRY_EVERY_MS > deadline) {
            if (error instanceof Starting) return new Response(null, { status: 503 });
            throw error;
        }
        await new Promise((r) => setTimeout(r, RETRY_EVERY_MS));
    }
}

async function timedProbe(name: string, run: () => Promise<string>): Promise<ProbeResult> {
    const started = Date.now();
    try {
        const detail = await run();
        return { name, ok: true, ms: Date.now() - started, detail };
    } catch (err) {
        return { name, ok: false, ms: Date.now() - started, detail: (err as Error).message };
    }
}

async function endpoint(url: string, deadline: number): Promise<string> {
    const response = await fetchStarted(url, {}, PROBE_TIMEOUT_MS, deadline);
    await response.arrayBuffer();
    if (response.status >= 500) throw new Error(`HTTP ${response.status}`);
    return `HTTP ${response.status}`;
}

async function chat(probe: NonNullable<Probes["chat"]>, drillId: string, deadline: number): Promise<string> {
    const response = await fetchStarted(
        probe.url,
        {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ model: probe.model, messages: [{ role: "user", content: `Fire drill ${drillId}: reply with OK.` }] }),
        },
        CHAT_TIMEOUT_MS,
        deadline,
    );
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const body = (await response.json()) as { choices?: { message?: { content?: string } }[] };
    const text = body.choices?.[0]?.message?.content?.trim();
    if (!text) throw new Error("the reply had no message text");
    return `replied ${JSON.stringify(text.slice(0, 60))}`;
}

/** Whether the event is in the database: the proof that it was committed, not only acknowledged. */
export function eventStored(probe: NonNullable<Probes["event"]>, eventId: string): boolean {
    if (!IDENTIFIER.test(probe.table) || !IDENTIFIER.test(probe.idColumn)) throw new Error("event table and id column must be plain identifiers");
    if (!/^[0-9a-f-]{36}$/.test(eventId)) throw new Error("event id must be a UUID");
    const out = execFileSync("sqlite3", ["-readonly", probe.database, `SELECT count(*) FROM "${probe.table}" WHERE "${probe.idColumn}" = '${eventId}';`], {
        encoding: "utf8",
        timeout: 30_000,
    });
    return out.trim() === "1";
}

async function event(probe: NonNullable<Probes["event"]>, eventId: string): Promise<string> {
    const response = await fetch(probe.url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ id: eventId, kind: "fire-drill", payload: { at: new Date().toISOString() } }),
        signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
    });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    if (!eventStored(probe, eventId)) throw new Error(`acknowledged, but ${eventId} is not in ${probe.database}`);
    return `event ${eventId} acknowledged and stored`;
}

/** The drill's checks against the services of the side that serves. */
export async function runProbes(
    probes: Probes,
    drillId: string,
    eventId: string = crypto.randomUUID(),
    startWaitMs: number = START_WAIT_MS,
): Promise<{ results: ProbeResult[]; eventId: string | null }> {
    const results: ProbeResult[] = [];
    const deadline = Date.now() + startWaitMs;
    for (const e of probes.endpoints) results.push(await timedProbe(`${e.name} responds`, () => endpoint(e.url, deadline)));
    if (probes.chat) results.push(await timedProbe("chat answers", () => chat(probes.chat!, drillId, deadline)));
    if (probes.event) results.push(await timedProbe("event stored", () => event(probes.event!, eventId)));
    return { results, eventId: probes.event ? eventId : null };
}
