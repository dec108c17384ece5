import { strict as assert } from "node:assert";
import { ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import * as path from "node:path";
import type { AgentConfig } from "../../agent/contract";

// Shared by the tests that run the bundled agent on loopback: a free port and
// an agent config whose units do not exist, so neither side counts as serving.

export function freePort(): Promise<number> {
    return new Promise((resolve) => {
        const server = net.createServer().listen(0, "127.0.0.1", () => {
            const port = (server.address() as net.AddressInfo).port;
            server.close(() => resolve(port));
        });
    });
}

export function loopbackAgentConfig(dir: string, name: string, role: "primary" | "standby", listen: number, peer: number): AgentConfig {
    return {
        role,
        listen: { addresses: ["127.0.0.1"], port: listen },
        peer: { address: "127.0.0.1", port: peer },
        heartbeatIntervalSeconds: 1,
        missThreshold: 3,
        autoActivate: false,
        witness: null,
        tokenFile: path.join(dir, "token"),
        alertWebhookUrlFile: null,
        stateDir: path.join(dir, `${name}-state`),
        units: { services: ["wirebot-lab-none.service"], connector: "wirebot-lab-none-connector.service" },
        databases: [],
        tenantsDir: path.join(dir, "tenants"),
        replicaDir: path.join(dir, "replica"),
        tenantsReplicaDir: path.join(dir, "replica", "tenants"),
    };
}

export async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 8000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
        const value = probe();
        if (value !== undefined) return value;
        await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`timed out waiting for ${what}`);
}

/** The bundled agent running one long-lived command; its output is collected for the assertions. */
export interface RunningAgent {
    child: ChildProcess;
    output(): string;
    /** Its exit status, once it has ended by itself. */
    done(): Promise<number | null>;
    /** Ends it and waits until it has exited. */
    stop(): Promise<void>;
}

export function startAgent(bundle: string, command: string, configFile: string, nodeArgs: string[] = [], env: Record<string, string> = {}): RunningAgent {
    const child = spawn(process.execPath, [...nodeArgs, bundle, command], { env: { ...process.env, ...env, WIREBOT_AGENT_CONFIG: configFile }, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout!.on("data", (d) => (output += d));
    child.stderr!.on("data", (d) => (output += d));
    const exited = new Promise<number | null>((resolve) => child.once("close", (status) => resolve(status)));
    return {
        child,
        output: () => output,
        done: () => exited,
        stop: async () => {
            if (child.exitCode === null && child.signalCode === null) child.kill();
            await exited;
        },
    };
}

/** Runs one command of the bundled agent to its end without blocking this process (whose servers may be the ones it calls). */
export function runCommand(bundle: string, configFile: string, ...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
    const child = spawn(process.execPath, [bundle, ...args], { env: { ...process.env, WIREBOT_AGENT_CONFIG: configFile }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d) => (stdout += d));
    child.stderr!.on("data", (d) => (stderr += d));
    return new Promise((resolve) => child.once("close", (status) => resolve({ status, stdout, stderr })));
}

/** The bundled watchdog, started and listening. */
export async function startWatchdog(bundle: string, configFile: string, nodeArgs: string[] = [], env: Record<string, string> = {}): Promise<RunningAgent> {
    const agent = startAgent(bundle, "watchdog", configFile, nodeArgs, env);
    await waitFor(`the watchdog to listen: ${agent.output()}`, () => (agent.output().includes("expecting heartbeats") ? true : agent.child.exitCode !== null ? assert.fail(agent.output()) : undefined));
    return agent;
}

export function writeAgentConfig(dir: string, name: string, config: AgentConfig): string {
    const file = path.join(dir, `${name}.json`);
    fs.writeFileSync(file, JSON.stringify(config));
    return file;
}

export interface CapturedRequest {
    method: string;
    path: string;
    headers: Record<string, string>;
    body: string;
}

/**
 * Someone on the path between the agents: records each request, then passes it
 * on to `forwardTo` (a port on loopback) with the answer coming back as it was
 * or as `rewrite` changes its body (headers kept), or, with no `forwardTo`,
 * keeps it and answers 503.
 */
export async function onThePath(forwardTo: number | null, rewrite: (path: string, body: string) => string = (_, body) => body): Promise<{ port: number; captured: CapturedRequest[]; close(): void }> {
    const captured: CapturedRequest[] = [];
    const server = http.createServer(async (req, res) => {
        let body = "";
        for await (const chunk of req) body += chunk;
        const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => k.startsWith("x-wirebot-") || k === "content-type")) as Record<string, string>;
        captured.push({ method: req.method!, path: req.url!, headers, body });
        if (forwardTo === null) return res.writeHead(503).end();
        const answer = await fetch(`http://127.0.0.1:${forwardTo}${req.url}`, { method: req.method, headers, body: req.method === "GET" ? undefined : body });
        const passed = Object.fromEntries([...answer.headers].filter(([k]) => k.startsWith("x-wirebot-") || k === "content-type"));
        res.writeHead(answer.status, passed).end(rewrite(req.url!, await answer.text()));
    });
    const port = await new Promise<number>((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as net.AddressInfo).port)));
    return { port, captured, close: () => (server.closeAllConnections(), server.close()) };
}

/** Something that answers in the standby's place (or the witness's) with `answer(path)` as JSON, unsigned unless `sign` adds headers. */
export async function impostor(
    answer: (path: string) => unknown,
    sign: (req: http.IncomingMessage, status: number, body: string) => Record<string, string> = () => ({}),
    status = 200,
): Promise<{ port: number; url: string; close(): void }> {
    const server = http.createServer(async (req, res) => {
        for await (const _ of req);
        const value = answer(req.url!);
        const body = typeof value === "string" ? value : JSON.stringify(value);
        res.writeHead(status, { "content-type": "application/json", ...sign(req, status, body) }).end(body);
    });
    const port = await new Promise<number>((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as net.AddressInfo).port)));
    return { port, url: `http://127.0.0.1:${port}/`, close: () => (server.closeAllConnections(), server.close()) };
}

/** Sends a captured request again, as it was, to the agent on `port` (at `path`, or where it first went). */
export async function replay(request: CapturedRequest, port: number, to = request.path): Promise<number> {
    const response = await fetch(`http://127.0.0.1:${port}${to}`, { method: request.method, headers: request.headers, body: request.method === "GET" ? undefined : request.body });
    await response.arrayBuffer();
    return response.status;
}
