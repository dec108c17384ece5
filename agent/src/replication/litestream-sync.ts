import { Deadline } from "../core/deadline";
import * as fs from "node:fs";
import { type AgentConfig, LITESTREAM_SOCKET } from "../../contract";
import { databasesOf } from "./databases";
import { commandParallelism, mapBounded } from "../core/bounded";
import { fewNamed } from "../core/few-named";

/** Litestream's control socket on the primary (enabled in its config, directory made by its unit). */
const SYNC_TIMEOUT_SECONDS = 30;

export class ShipFailed extends Error {}

interface SyncResult {
    txid: number;
    replica_txid?: number;
}

/**
 * Once writes have stopped, has Litestream take each database's last
 * transaction and upload it to the standby now (`litestream sync -wait`), so a
 * planned handover neither waits for the next sync interval nor starts while a
 * write is still on its way. Returns what each database reached.
 */
const LISTEN_TIMEOUT_MS = 30_000;

/** Litestream answers `sync` on its socket only once it has started: waits for it, bounded. */
export async function litestreamListening(): Promise<void> {
    const deadline = Date.now() + LISTEN_TIMEOUT_MS;
    while (!fs.existsSync(LITESTREAM_SOCKET)) {
        if (Date.now() > deadline) throw new ShipFailed(`Litestream did not open ${LITESTREAM_SOCKET} within ${LISTEN_TIMEOUT_MS / 1000} s of its start`);
        await new Promise((r) => setTimeout(r, 200));
    }
}

export async function shipFinalWrites(config: AgentConfig, deadline = Deadline.unbounded()): Promise<string> {
    const live = databasesOf(config).filter((db) => fs.existsSync(db.live));
    const started = Date.now();
    const shipped = await mapBounded(live, commandParallelism(), (db) => shipOne(db.live, deadline));
    return shipped.length === 0 ? "no database to ship" : `${fewNamed(shipped)} in ${Date.now() - started} ms`;
}

async function shipOne(live: string, deadline: Deadline): Promise<string> {
    let result: SyncResult;
    try {
        const args = ["sync", "-wait", "-timeout", String(SYNC_TIMEOUT_SECONDS), "-socket", LITESTREAM_SOCKET, "-json", live];
        result = JSON.parse(await deadline.runAsync(`shipping the last writes of ${live}`, (SYNC_TIMEOUT_SECONDS + 5) * 1000, "litestream", args)) as SyncResult;
    } catch (err) {
        const e = err as { stderr?: string; message: string };
        throw new ShipFailed(`Litestream could not ship the last writes of ${live}: ${(e.stderr || e.message).trim().split("\n").pop()}`);
    }
    if (result.replica_txid !== undefined && result.replica_txid < result.txid) {
        throw new ShipFailed(`Litestream shipped ${live} only to transaction ${result.replica_txid} of ${result.txid}`);
    }
    return `${live} at transaction ${result.txid}`;
}
