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
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

async function timedProbe(name: string, run: () => Promise<string>): Promise<ProbeResult> {
    const started = Date.now();
    try {
        const detail = await run();
        return { name, ok: true, ms: Date.now() - started, detail };
    } catch (err) {
        return { name, ok: false, ms: Date.now() - started, detail: (err as Error).message };
    }
}

async function endpoint(url: string): Promise<string> {
    const response = await fetch(url, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    await response.arrayBuffer();
    if (response.status >= 500) throw new Error(`HTTP ${response.status}`);
    return `HTTP ${response.status}`;
}

async function chat(probe: NonNullable<Probes["chat"]>, drillId: string): Promise<string> {
    const response = await fetch(probe.url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: probe.model, messages: [{ role: "user", content: `Fire drill ${drillId}: reply with OK.` }] }),
        signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
    });
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
export async function runProbes(probes: Probes, drillId: string, eventId: string = crypto.randomUUID()): Promise<{ results: ProbeResult[]; eventId: string | null }> {
    const results: ProbeResult[] = [];
    for (const e of probes.endpoints) results.push(await timedProbe(`${e.name} responds`, () => endpoint(e.url)));
    if (probes.chat) results.push(await timedProbe("chat answers", () => chat(probes.chat!, drillId)));
    if (probes.event) results.push(await timedProbe("event stored", () => event(probes.event!, eventId)));
    return { results, eventId: probes.event ? eventId : null };
}
