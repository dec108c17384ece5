import { AgentConfig } from "./config";

const ASK_TIMEOUT_MS = 3000;

/**
 * Run before the connector starts on the primary: a primary that comes back after
 * the standby took over must not connect a second connector. An unreachable
 * standby does not block the primary, which is the configured active side.
 */
export async function mayServe(config: AgentConfig): Promise<{ ok: boolean; reason: string }> {
    if (config.role !== "primary") return { ok: true, reason: "the standby's activation consults the witness itself" };
    try {
        const response = await fetch(`http://${config.peer.address}:${config.peer.port}/serving`, { signal: AbortSignal.timeout(ASK_TIMEOUT_MS) });
        const body = (await response.json()) as { serving?: boolean; takeover?: { at: string } | null };
        if (body.serving) {
            const since = body.takeover ? ` since ${body.takeover.at}` : "";
            return { ok: false, reason: `the standby serves${since}; this host stays off until the config makes the primary active again (fail back)` };
        }
        return { ok: true, reason: "the standby does not serve" };
    } catch (err) {
        return { ok: true, reason: `the standby cannot be asked (${(err as Error).message}); the primary is the configured active side` };
    }
}
