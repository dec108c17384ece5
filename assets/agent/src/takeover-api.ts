import * as http from "node:http";
import { activate, ActivationRefused, deactivate } from "./activation";
import { authorize } from "./auth";
import { AgentConfig } from "./config";
import { exportDatabases } from "./export";
import { readBody, sendJson } from "./http";
import { log } from "./log";
import { runProbes } from "./probes";
import { ReplicaBehind, waitForReplicas } from "./replica-check";

export const TAKEOVER_PATHS = ["/activate", "/deactivate", "/probe"];
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
export async function handleTakeoverApi(config: AgentConfig, token: string, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const body = await readBody(req);
    if (!authorize(req, body, token, Date.now(), MAX_AGE_MS, `POST ${req.url}`).ok) return sendJson(res, 401, { error: "rejected" });
    const request = (body ? JSON.parse(body) : {}) as ActivateRequest & { drillId?: string; export?: boolean };
    try {
        if (req.url === "/activate") {
            const caughtUpMs = request.expect ? await waitForReplicas(config, request.expect, REPLICA_WAIT_MS) : null;
            if (caughtUpMs !== null) log(`takeover: replicas match the primary's last write (${caughtUpMs} ms)`);
            // The primary itself asks and has stopped serving: the witness has nothing to add.
            const takeover = await activate(config, request.reason ?? "planned handover from the primary", true);
            return sendJson(res, 200, { takeover, caughtUpMs });
        }
        if (req.url === "/probe") {
            if (!config.probes) return sendJson(res, 409, { error: "no drill probes are configured" });
            return sendJson(res, 200, await runProbes(config.probes, request.drillId ?? "manual"));
        }
        const timeline = await deactivate(config);
        const exported = request.export ? exportDatabases(config) : [];
        return sendJson(res, 200, { timeline, exported });
    } catch (err) {
        const expected = err instanceof ReplicaBehind || err instanceof ActivationRefused;
        log(`takeover: ${req.url} failed: ${(err as Error).message}`);
        return sendJson(res, expected ? 409 : 500, { error: (err as Error).message });
    }
}
