import * as fs from "node:fs";

export interface AgentConfig {
    role: "primary" | "standby";
    listen: { address: string; port: number };
    peer: { address: string; port: number };
    heartbeatIntervalSeconds: number;
    missThreshold: number;
    autoActivate: boolean;
    witnessUrl: string | null;
    tokenFile: string;
    alertWebhookUrlFile: string | null;
    stateDir: string;
    units: { services: string[]; connector: string };
    databases: { path: string; replica: string }[];
    tenantsDir: string;
    replicaDir: string;
    /** Where Litestream's directory watch puts the tenants' replicas. */
    tenantsReplicaDir: string;
    /** The hub's files: watched on the primary, put in place from the staging copy when the standby activates. */
    fileSync?: { paths: string[]; debounceSeconds: number; stagingDir: string; outboxDir: string } | null;
    /** What a fire drill checks on the side that serves. */
    probes?: Probes;
}

export interface Probes {
    /** Each must answer HTTP below 500. */
    endpoints: { name: string; url: string }[];
    /** An OpenAI-compatible chat completion that must come back with text. */
    chat: { url: string; model: string } | null;
    /** A scoreboard event that must be acknowledged and then found in its database. */
    event: { url: string; database: string; table: string; idColumn: string } | null;
}

export const DEFAULT_CONFIG_PATH = "/etc/wirebot/agent.json";

export class AgentConfigError extends Error {}

const REQUIRED: (keyof AgentConfig)[] = ["role", "listen", "peer", "heartbeatIntervalSeconds", "missThreshold", "tokenFile", "stateDir", "units"];

export function loadConfig(file = process.env.WIREBOT_AGENT_CONFIG ?? DEFAULT_CONFIG_PATH): AgentConfig {
    let text: string;
    try {
        text = fs.readFileSync(file, "utf8");
    } catch {
        throw new AgentConfigError(`cannot read the agent config ${file}; it is written by pulumi up -s standby`);
    }
    let parsed: Partial<AgentConfig>;
    try {
        parsed = JSON.parse(text) as Partial<AgentConfig>;
    } catch (err) {
        throw new AgentConfigError(`${file} is not valid JSON: ${(err as Error).message}`);
    }
    const missing = REQUIRED.filter((key) => parsed[key] === undefined);
    if (missing.length > 0) throw new AgentConfigError(`${file} lacks ${missing.join(", ")}`);
    if (parsed.role !== "primary" && parsed.role !== "standby") {
        throw new AgentConfigError(`${file}: role must be primary or standby, not ${JSON.stringify(parsed.role)}`);
    }
    return parsed as AgentConfig;
}

/** Secrets live in root-owned 0600 files and are read, never logged. */
export function readSecretFile(file: string): string {
    const value = fs.readFileSync(file, "utf8").trim();
    if (value.length === 0) throw new AgentConfigError(`${file} is empty`);
    return value;
}
