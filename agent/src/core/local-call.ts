import { signedCall } from "../heartbeat/signed-call";
import type { AgentConfig } from "../../contract";
import { readSecretFile } from "./config";

/** A signed call to this host's own agent, as an operator's command makes it. */
export async function callLocalAgent(config: AgentConfig, call: string, body: unknown = {}): Promise<unknown> {
    const address = config.listen.address === "0.0.0.0" ? "127.0.0.1" : config.listen.address;
    const answer = await signedCall<{ error?: string }>(readSecretFile(config.tokenFile), { address, port: config.listen.port }, "POST", call, body, 15 * 60_000);
    if (answer.status < 200 || answer.status >= 300) throw new Error(`${call}: HTTP ${answer.status}: ${answer.body.error ?? "no detail"}`);
    return answer.body;
}
