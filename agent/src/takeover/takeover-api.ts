import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import { activate, ActivationRefused } from "./activation";
import { AgentAuth, authorize } from "../heartbeat/auth";
import type { AgentConfig } from "../../contract";
import { handBack, markMerged } from "./handback";
import { awaitsMerge, describeUnmerged, unmergedExport } from "./handback-record";
import { NotEnoughSpace } from "../core/disk-space";
import { readBody, sendJson } from "../core/http";
import { log } from "../core/log";
import { runProbes, START_WAIT_MS } from "../drill/probes";
import { ReplicaBehind, waitForReplicas } from "../replication/replica-check";
import { isActive } from "../core/systemd";

export const TAKEOVER_PATHS = ["/activate", "/deactivate", "/probe", "/merged", "/reseed"];
const MAX_AGE_MS = 30_000;
const REPLICA_WAIT_MS = 30_000;

interface ActivateRequest {
    reason?: string;
    /** Live path to fingerprint, taken by the primary after it stopped taking writes. */
    expect?: Record<string, string | null>;
}

/**
 * The primary's planned handovers (a switchover, a fire drill) call these on the
 * standby, signed with the shared token: take over once the replicas hold
 * everything the primary had, run the drill's checks, and give the role back
 * with a copy of what was written meanwhile.
 */
export async function handleTakeoverApi(config: AgentConfig, auth: AgentAuth, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const body = await readBody(req);
    if (!authorize(req, body, auth, Date.now(), MAX_AGE_MS, `POST ${req.url}`).ok) return sendJson(res, 401, { error: "rejected" });
    const request = (body ? JSON.parse(body) : {}) as ActivateRequest & { drillId?: string; id?: string };
    try {
        if (req.url === "/activate") {
            const caughtUpMs = request.expect ? await waitForReplicas(config, request.expect, REPLICA_WAIT_MS) : null;
            if (caughtUpMs !== null) log(`takeover: replicas match the primary's last write (${caughtUpMs} ms)`);
            // The primary itself asks and has stopped serving: the witness has nothing to add.
            const takeover = await activate(config, request.reason ?? "planned handover from the primary", true, { planned: true });
            return sendJson(res, 200, { takeover, caughtUpMs });
        }
        if (req.url === "/probe") {
            if (!config.probes) return sendJson(res, 409, { error: "no drill probes are configured" });
            // The wait for services still starting is for a side that has just started them; one that does not run them answers at once.
            const startWaitMs = config.units.services.some((unit) => isActive(unit)) ? START_WAIT_MS : 0;
            return sendJson(res, 200, await runProbes(config.probes, request.drillId ?? "manual", undefined, startWaitMs));
        }
        if (req.url === "/merged") return sendJson(res, 200, markMerged(config, request.id ?? ""));
        if (req.url === "/reseed") return sendJson(res, 200, { emptied: emptyReplicas(config) });
        // Stopping always hands back: a standby that served never stops without leaving its writes for the primary.
        const { timeline, handback } = await handBack(config);
        const exported = awaitsMerge(handback) ? handback.exported : [];
        return sendJson(res, 200, { timeline, exported, handback });
    } catch (err) {
        const expected = err instanceof ReplicaBehind || err instanceof ActivationRefused || err instanceof NotEnoughSpace;
        log(`takeover: ${req.url} failed: ${(err as Error).message}`);
        return sendJson(res, expected ? 409 : 500, { error: (err as Error).message });
    }
}

/**
 * Empties the replica directory so the primary's Litestream starts over. Only
 * while this host does not serve and nothing it took is left unmerged.
 */
function emptyReplicas(config: AgentConfig): number {
    if (isActive(config.units.connector)) throw new ActivationRefused("this standby serves: its replicas are not to be emptied");
    const pending = unmergedExport(config);
    if (pending) throw new ActivationRefused(describeUnmerged(pending));
    let emptied = 0;
    for (const name of fs.existsSync(config.replicaDir) ? fs.readdirSync(config.replicaDir) : []) {
        fs.rmSync(path.join(config.replicaDir, name), { recursive: true, force: true });
        emptied++;
    }
    return emptied;
}
