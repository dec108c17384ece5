import type * as http from "node:http";
import * as os from "node:os";
import { WITNESS_PATH } from "../../contract";
import { CHALLENGE_PATTERN, SignedWitnessAnswer, signWitnessAnswer } from "./witness";

/**
 * The tunnel's witness route ends here, on whichever host's connector carried
 * the question (the connector reaches this host's agent on localhost): the
 * answer says which host this is and whether its connector unit is active,
 * signed with the heartbeat token over the asker's challenge, so the other
 * host can trust it and a recorded answer is worth nothing.
 *
 * The question comes from the public internet through Cloudflare, unsigned:
 * GET only, a challenge of 32 to 128 hex digits, nothing else read, nothing
 * logged, and nothing told but the host's name, its connector's state and the
 * time. The connector's state comes from the agent's UnitStates, read at most
 * once a second however many ask, and each caller's questions are limited
 * (core/rate-limit.ts).
 */
export function isWitnessQuestion(req: http.IncomingMessage): boolean {
    const url = req.url ?? "";
    const query = url.indexOf("?");
    return (query < 0 ? url : url.slice(0, query)) === WITNESS_PATH;
}

export async function answerWitness(req: http.IncomingMessage, res: http.ServerResponse, token: string, connectorServing: () => Promise<boolean>): Promise<void> {
    if (req.method !== "GET") return send(res, 405, { error: "GET only" }, { allow: "GET" });
    const challenge = challengeOf(req.url ?? "");
    if (challenge === undefined) return send(res, 400, { error: "needs ?challenge= with 32 to 128 hex digits" });
    const host = os.hostname();
    const serving = await connectorServing();
    const at = new Date().toISOString();
    const answer: SignedWitnessAnswer = { host, serving, challenge, at, signature: signWitnessAnswer(token, host, serving, challenge, at) };
    send(res, 200, answer);
}

/** The one `challenge` parameter, when it is well formed; any other parameter is ignored. */
function challengeOf(url: string): string | undefined {
    const query = url.indexOf("?");
    if (query < 0) return undefined;
    const values = new URLSearchParams(url.slice(query + 1)).getAll("challenge");
    return values.length === 1 && CHALLENGE_PATTERN.test(values[0]) ? values[0] : undefined;
}

function send(res: http.ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
    const body = JSON.stringify(value);
    // Each answer is for one challenge: no cache on the way may keep it.
    res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store", "content-length": Buffer.byteLength(body), ...headers });
    res.end(body);
}
