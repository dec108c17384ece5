import { strict as assert } from "node:assert";
import { replicaPathOf } from "../src/render/litestream-config";
import { CONNECTOR, PATHS, SERVICE_UNITS } from "./engine";
import { LabEnv, LabHost, Result, ssh, sshOk, waitFor } from "./lab";
import { flipServing, Load, Sampler } from "./runtime-harness";

// What the lab's flip tests share: the planned flip as the runbook runs it
// under load, and the checks that follow every flip (events kept, replication
// running from the serving primary).

export const EVENTS_DB = "/data/wirebot/scoreboard/events.db";

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function eventIds(env: LabEnv, host: LabHost, db = EVENTS_DB): Set<string> {
    return new Set(sshOk(env, host, `sqlite3 ${db} 'select id from events'`).trim().split("\n"));
}

/** The output of a command that must have succeeded. */
export function succeeded(r: Result, what: string): string {
    assert.equal(r.status, 0, `${what} failed: ${r.stderr}${r.stdout}`);
    return r.stdout;
}

export function unitsActive(env: LabEnv, host: LabHost): string[] {
    return ssh(env, host, `systemctl is-active ${[...SERVICE_UNITS, CONNECTOR].join(" ")}`).stdout.trim().split("\n");
}

/** Acknowledged events the host's database does not hold (only the load's are read: a database can hold many more). */
export function lostOn(env: LabEnv, host: LabHost, load: Load): string[] {
    const held = new Set(sshOk(env, host, `sqlite3 ${EVENTS_DB} "select id from events where id like 'load-%'"`).trim().split("\n"));
    return load.acked.filter((a) => !held.has(a.id)).map((a) => a.id);
}

/** A planned flip under load: the primary stack's step, the new side serving, then the standby stack's step. */
export async function plannedFlip(env: LabEnv, sampler: Sampler, to: LabHost): Promise<{ load: Load; seconds: number; output: string }> {
    const load = new Load(env, sampler);
    let flipped = 0;
    let serving = 0;
    let output = "";
    try {
        await sleep(3000);
        flipped = Date.now();
        output = succeeded(await flipServing(env, "primary", to === "primary"), `pulumi up -s primary (activeSide ${to})`);
        serving = await waitFor(`the ${to} to serve`, () => (sampler.serving() === to ? Date.now() : undefined), 60_000, 50);
        output += succeeded(await flipServing(env, "standby", to === "standby"), `pulumi up -s standby (activeSide ${to})`);
        await sleep(3000);
    } finally {
        await load.stop();
    }
    return { load, seconds: (serving - flipped) / 1000, output };
}

/** Replication runs from the serving primary: a write made now is restorable on the standby, with every event before it. */
export async function replicationRuns(env: LabEnv): Promise<void> {
    const marker = `replicated-${Date.now()}`;
    sshOk(env, "primary", `sqlite3 ${EVENTS_DB} "insert into events (id, kind) values ('${marker}', 'check')"`);
    const count = sshOk(env, "primary", `sqlite3 ${EVENTS_DB} 'select count(*) from events'`).trim();
    await waitFor(
        "the standby's replica to hold the primary's database",
        () => {
            const r = ssh(env, "standby", `rm -f /tmp/check.db* && litestream restore -o /tmp/check.db file://${replicaPathOf(PATHS, EVENTS_DB)} >/dev/null 2>&1 && sqlite3 /tmp/check.db "select count(*) from events where id = '${marker}'; select count(*) from events"`);
            return r.status === 0 && r.stdout.trim() === `1\n${count}` ? true : undefined;
        },
        30_000,
        1000,
    );
}
