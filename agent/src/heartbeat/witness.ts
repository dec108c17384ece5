/**
 * The witness answers which host serves the public hostname (through Cloudflare,
 * so it sees what users see). The standby asks it before taking over, so a cut
 * link between the two hosts never makes two of them serve.
 */
export type WitnessAnswer = { reachable: true; servingHost: string | null } | { reachable: false; error: string };
export type Decision = "activate" | "partition" | "already-serving";

export function decide(answer: WitnessAnswer, standbyHost: string): Decision {
    if (!answer.reachable || answer.servingHost === null) return "activate";
    return answer.servingHost === standbyHost ? "already-serving" : "partition";
}

export async function askWitness(url: string, timeoutMs: number): Promise<WitnessAnswer> {
    try {
        const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
        // Cloudflare answers 5xx (e.g. 530) when no connector serves the tunnel.
        if (!response.ok) return { reachable: false, error: `HTTP ${response.status}` };
        const body = (await response.json()) as { host?: unknown };
        return { reachable: true, servingHost: typeof body.host === "string" ? body.host : null };
    } catch (err) {
        return { reachable: false, error: (err as Error).message };
    }
}
