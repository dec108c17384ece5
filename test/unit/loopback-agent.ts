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
        listen: { address: "127.0.0.1", port: listen },
        peer: { address: "127.0.0.1", port: peer },
        heartbeatIntervalSeconds: 1,
        missThreshold: 3,
        autoActivate: false,
        witnessUrl: null,
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
