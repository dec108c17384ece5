import * as fs from "node:fs";
import { AGENT_CONFIG_PATH, AgentConfig, agentConfigSchema } from "../../contract";

export class AgentConfigError extends Error {}

export function loadConfig(file = process.env.WIREBOT_AGENT_CONFIG ?? AGENT_CONFIG_PATH): AgentConfig {
    let text: string;
    try {
        text = fs.readFileSync(file, "utf8");
    } catch {
        throw new AgentConfigError(`cannot read the agent config ${file}; it is written by pulumi up -s standby`);
    }
    let parsed: unknown;
    try {
        parsed = JSON.parse(text);
    } catch (err) {
        throw new AgentConfigError(`${file} is not valid JSON: ${(err as Error).message}`);
    }
    const result = agentConfigSchema.safeParse(parsed);
    if (!result.success) {
        const problems = result.error.issues.map((i) => `${i.path.join(".") || "(top)"}: ${i.message}`);
        throw new AgentConfigError(`${file}: ${problems.join("; ")}; it is written by pulumi up -s standby, run it again`);
    }
    return result.data;
}

/** Secrets live in root-owned 0600 files and are read, never logged. */
export function readSecretFile(file: string): string {
    const value = fs.readFileSync(file, "utf8").trim();
    if (value.length === 0) throw new AgentConfigError(`${file} is empty`);
    return value;
}
