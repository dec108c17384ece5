import { signedCall } from "../heartbeat/signed-call";
import type { AgentConfig } from "../../contract";
import { readSecretFile } from "./config";
import { localAddressOf } from "../heartbeat/auth";

/** A signed call to this host's own agent, as an operator's command makes it. */
export async function callLocalAgent(config: AgentConfig, call: string, body: unknown = {}): Promise<unknown> {
    const address = localAddressOf(config);
    const answer = await signedCall<{ error?: string }>(readSecretFile(config.tokenFile), { address, port: config.listen.port }, "POST", call, body, 15 * 60_000);
    if (answer.status < 200 || answer.status >= 300) throw new Error(`${call}: HTTP ${answer.status}: ${answer.body.error ?? "no detail"}`);
    return answer.body;
}
