/**
 * The witness answers which host serves the public hostname (through Cloudflare,
 * so it sees what users see). The standby asks it before taking over, and the
 * primary before it starts without the standby's yes, so a cut link between the
 * two hosts never makes two of them serve.
 *
 * An answer is either a 200 whose JSON names the serving host in `host`, or
 * Cloudflare's 530, which it gives when no connector serves the tunnel: nobody
 * serves. Anything else (no connection, a timeout, another status, a body that
 * names no host) is "cannot tell".
 */
export type WitnessAnswer = { known: true; servingHost: string | null } | { known: false; why: string };
export type Decision = "activate" | "partition" | "already-serving" | "cannot-tell";

/** Cloudflare's answer when no connector serves the tunnel (error 1033). */
export const NO_CONNECTOR = 530;

/**
 * The rule: only a witness that says nobody serves lets the standby activate.
 * "Cannot tell" is not "the primary is gone": a witness that is down, slow or
 * answering something unexpected must never be what makes two sides serve.
 */
export function decide(answer: WitnessAnswer, standbyHost: string): Decision {
    if (!answer.known) return "cannot-tell";
    if (answer.servingHost === null) return "activate";
    return answer.servingHost === standbyHost ? "already-serving" : "partition";
}

export function describeAnswer(answer: WitnessAnswer): string {
    return answer.known ? `serving: ${answer.servingHost ?? "nobody"}` : `cannot tell: ${answer.why}`;
}

export async function askWitness(url: string, timeoutMs: number): Promise<WitnessAnswer> {
    try {
        const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
        const text = await response.text();
        if (response.status === NO_CONNECTOR) return { known: true, servingHost: null };
        if (response.status !== 200) return { known: false, why: `HTTP ${response.status}` };
        return servingHostOf(text);
    } catch (err) {
        return { known: false, why: `no answer: ${(err as Error).message}` };
    }
}

function servingHostOf(text: string): WitnessAnswer {
    let body: unknown;
    try {
        body = JSON.parse(text);
    } catch {
        return { known: false, why: "the answer is not JSON" };
    }
    const host = (body as { host?: unknown } | null)?.host;
    return typeof host === "string" && host !== "" ? { known: true, servingHost: host } : { known: false, why: 'the answer names no serving host ("host")' };
}
