import { signedHeaders } from "../heartbeat/auth";
import type { AgentConfig } from "../../contract";
import { readSecretFile } from "./config";

/** A signed call to this host's own agent, as an operator's command makes it. */
export async function callLocalAgent(config: AgentConfig, call: string, body: unknown = {}): Promise<unknown> {
    const text = JSON.stringify(body);
    const address = config.listen.address === "0.0.0.0" ? "127.0.0.1" : config.listen.address;
    const response = await fetch(`http://${address}:${config.listen.port}${call}`, {
        method: "POST",
        headers: signedHeaders(readSecretFile(config.tokenFile), text),
        body: text,
        signal: AbortSignal.timeout(15 * 60_000),
    });
    const answer = (await response.json()) as { error?: string };
    if (!response.ok) throw new Error(`${call}: HTTP ${response.status}: ${answer.error ?? "no detail"}`);
    return answer;
}
