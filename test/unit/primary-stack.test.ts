import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { adoptedPrimaryOptions, existingStandbyOptions, PRIMARY_OUTPUTS, primaryOptions, TUNNEL_ID, ZONE_ID } from "./fixtures";
import { configErrorOf, fileContent, runProgram } from "./harness";

const payloadOf = (stdin: string) => stdin;

describe("primary stack", () => {
    it("creates the tunnel with a random secret, remotely managed ingress and a CNAME per operator hostname", async () => {
        const run = await runProgram(primaryOptions());
        const tunnel = run.ofType("cloudflare:index/zeroTrustTunnelCloudflared:ZeroTrustTunnelCloudflared");
        assert.equal(tunnel.length, 1);
        assert.equal(tunnel[0].inputs.configSrc, "cloudflare");
        assert.deepEqual(tunnel[0].secretInputs, ["tunnelSecret"]);
        assert.equal(run.ofType("random:index/randomBytes:RandomBytes")[0].inputs.length, 32);

        const ingress = run.ofType("cloudflare:index/zeroTrustTunnelCloudflaredConfig:ZeroTrustTunnelCloudflaredConfig")[0];
        assert.deepEqual(ingress.inputs.config.ingresses, [
            { hostname: "helm.wirebot.chat", path: "^/\\.well-known/wirebot/serving$", service: "http://localhost:8300" },
            { hostname: "helm.wirebot.chat", service: "http://localhost:18789" },
            { hostname: "wins.wirebot.chat", service: "http://localhost:8100" },
            { hostname: "api.wirebot.chat", service: "http://localhost:8100" },
            { hostname: "ai.clientbiz.com", service: "http://localhost:18789" },
            { service: "http_status:404" },
        ]);

        const dns = run.ofType("cloudflare:index/dnsRecord:DnsRecord");
        assert.deepEqual(dns.map((r) => r.inputs.name).sort(), ["api.wirebot.chat", "helm.wirebot.chat", "wins.wirebot.chat"]);
        for (const record of dns) {
            assert.equal(record.inputs.type, "CNAME");
            assert.equal(record.inputs.proxied, true);
            assert.equal(record.inputs.zoneId, ZONE_ID);
            assert.equal(record.inputs.content, "tunnel-id.cfargotunnel.com");
        }
    });

    it("routes the tunnel to the ports the services are configured with, where their units listen and the drill probes", async () => {
        const services = { gateway: { port: 18800 }, scoreboard: { port: 8111 } };
        const primary = await runProgram(primaryOptions({ services }));
        const expected = [
            { hostname: "helm.wirebot.chat", path: "^/\\.well-known/wirebot/serving$", service: "http://localhost:8300" },
            { hostname: "helm.wirebot.chat", service: "http://localhost:18800" },
            { hostname: "wins.wirebot.chat", service: "http://localhost:8111" },
            { hostname: "api.wirebot.chat", service: "http://localhost:8111" },
            { hostname: "ai.clientbiz.com", service: "http://localhost:18800" },
            { service: "http_status:404" },
        ];
        const remote = primary.ofType("cloudflare:index/zeroTrustTunnelCloudflaredConfig:ZeroTrustTunnelCloudflaredConfig")[0];
        assert.deepEqual(remote.inputs.config.ingresses, expected);
        const local = String(primary.outputs.cloudflaredConfig);
        assert.deepEqual(JSON.parse(local.slice(local.indexOf("{"))).ingress, expected);

        const gateway = fileContent(primary, "primary-file-etc-systemd-system-openclaw-gateway.service");
        assert.match(gateway, /^ExecStart=\/usr\/bin\/openclaw gateway --port 18800$/m);
        assert.match(gateway, /^Description=Wirebot gateway \(:18800\)$/m);
        assert.match(fileContent(primary, "primary-file-etc-systemd-system-wirebot-scoreboard.service"), /^Description=Wirebot scoreboard \(:8111\)$/m);

        const options = existingStandbyOptions();
        options.stackOutputs!["organization/wirebot-failover/primary"] = { ...PRIMARY_OUTPUTS, services: primary.outputs.services };
        const standby = await runProgram(options);
        const probes = JSON.parse(fileContent(standby, "primary-file-etc-wirebot-agent.json")).probes;
        assert.deepEqual(probes.endpoints, [
            { name: "gateway", url: "http://127.0.0.1:18800/" },
            { name: "scoreboard", url: "http://127.0.0.1:8111/" },
        ]);
        assert.equal(probes.chat.url, "http://127.0.0.1:18800/v1/chat/completions");
        assert.equal(probes.event.url, "http://127.0.0.1:8111/v1/events");
        assert.match(fileContent(standby, "standby-file-etc-systemd-system-openclaw-gateway.service"), /^ExecStart=\/usr\/bin\/openclaw gateway --port 18800$/m);
    });

    it("routes the witness path on the first hostname to the agents' port, before every other rule, and exports the route", async () => {
        for (const [options, port] of [
            [primaryOptions(), 8300],
            [primaryOptions({ agent: { port: 8411 } }), 8411],
            [adoptedPrimaryOptions({ agent: { port: 9000 }, routes: [{ hostname: "wins.example.org", service: "scoreboard" }, { hostname: "helm.example.org", service: "gateway" }] }), 9000],
        ] as const) {
            const run = await runProgram(options);
            const first = options.config.routes ? "wins.example.org" : "helm.wirebot.chat";
            const witnessRule = { hostname: first, path: "^/\\.well-known/wirebot/serving$", service: `http://localhost:${port}` };
            const local = String(run.outputs.cloudflaredConfig);
            const rules = JSON.parse(local.slice(local.indexOf("{"))).ingress;
            assert.deepEqual(rules[0], witnessRule);
            assert.deepEqual(rules[1], { hostname: first, service: first.startsWith("wins") ? "http://localhost:8100" : "http://localhost:18789" });
            const remote = run.ofType("cloudflare:index/zeroTrustTunnelCloudflaredConfig:ZeroTrustTunnelCloudflaredConfig");
            if (remote.length > 0) assert.deepEqual(remote[0].inputs.config.ingresses, rules);
            assert.deepEqual(run.outputs.witness, { url: `https://${first}/.well-known/wirebot/serving`, agentPort: port });
        }
    });

    it("takes only the agents' port among the agent keys: the rest are the standby stack's", async () => {
        const message = await configErrorOf(primaryOptions({ agent: { port: 8300, witnessUrl: "https://helm.wirebot.chat/health" } }));
        assert.match(message, /wirebot:agent: unknown key\(s\) witnessUrl; remove them/);
        assert.match(await configErrorOf(primaryOptions({ agent: { port: 70000 } })), /wirebot:agent\.port: bad value 70000: must be a TCP port/);
    });

    it("adopts an existing tunnel from its credentials, rendering ingress into the local connector config", async () => {
        const run = await runProgram(adoptedPrimaryOptions());
        assert.equal(run.ofType("cloudflare:index/zeroTrustTunnelCloudflared:ZeroTrustTunnelCloudflared").length, 0);
        assert.equal(run.ofType("cloudflare:index/dnsRecord:DnsRecord").length, 0, "DNS stays unmanaged by default when adopting");
        assert.equal(run.ofType("random:index/randomBytes:RandomBytes").length, 0);
        const config = String(run.outputs.cloudflaredConfig);
        const parsed = JSON.parse(config.slice(config.indexOf("{")));
        assert.equal(parsed.tunnel, TUNNEL_ID);
        assert.equal(parsed["credentials-file"], "/etc/cloudflared/wirebot-credentials.json");
        assert.deepEqual(parsed.ingress.at(-1), { service: "http_status:404" });
        assert.equal(parsed.ingress[0].hostname, "helm.wirebot.chat");
        assert.equal(parsed.ingress[1].hostname, "helm.wirebot.chat");
    });

    it("needs no provider but command when the tunnel is adopted and DNS is unmanaged", async () => {
        const run = await runProgram(adoptedPrimaryOptions());
        const types = new Set(run.resources.map((r) => r.type.split(":")[0]));
        types.delete("pulumi");
        types.delete("wirebot");
        assert.deepEqual([...types], ["command"]);
    });

    it("installs units, connector config and credentials on the primary and serves there when it is active", async () => {
        const run = await runProgram(adoptedPrimaryOptions());
        const steps = run.ofType("command:remote:Command").map((r) => r.name);
        for (const expected of [
            "primary-prepare",
            "primary-binary-cloudflared",
            "primary-file-etc-systemd-system-openclaw-gateway.service",
            "primary-file-etc-systemd-system-wirebot-scoreboard.service",
            "primary-file-etc-systemd-system-cloudflared-wirebot.service",
            "primary-file-etc-cloudflared-wirebot.yml",
            "primary-file-etc-cloudflared-wirebot-credentials.json",
            "primary-serving",
        ]) {
            assert.ok(steps.includes(expected), `missing step ${expected}; have ${steps.join(", ")}`);
        }
        const serving = run.byName("primary-serving");
        assert.match(payloadOf(serving.inputs.stdin), /^SERVING='yes'$/m);
        assert.match(serving.inputs.stdin, /^SERVICES='openclaw-gateway.service wirebot-scoreboard.service'$/m);
        assert.match(serving.inputs.stdin, /^REFUSE_DELETE_WHILE_SERVING='no'$/m, "the primary stack's teardown is not held by the standby's state");
        assert.equal(run.outputs.activeSide, "primary");
    });

    it("keeps the tunnel credentials and the SSH key secret in inputs and outputs", async () => {
        const run = await runProgram(adoptedPrimaryOptions());
        const credentials = run.byName("primary-file-etc-cloudflared-wirebot-credentials.json");
        assert.ok(credentials.secretInputs.includes("stdin"), "credentials travel as a secret");
        assert.match(credentials.inputs.stdin, /^MODE='0600'$/m);
        for (const step of run.ofType("command:remote:Command")) {
            assert.ok(step.secretInputs.includes("connection"), `${step.name}: the connection carries the private key as a secret`);
            assert.ok(!step.inputs.create.includes("BEGIN OPENSSH"), `${step.name}: no key on the command line`);
        }
        assert.ok(run.secretOutputs.includes("tunnelCredentials"));
        assert.ok(run.secretOutputs.includes("primarySshKey"));
        assert.ok(!run.secretOutputs.includes("tunnelId"));
    });

    it("pins the primary's host key and bounds dialling", async () => {
        const run = await runProgram(adoptedPrimaryOptions());
        const connection = run.byName("primary-serving").inputs.connection;
        assert.match(connection.hostKey, /^ssh-ed25519 /);
        assert.equal(connection.dialErrorLimit, 2);
        assert.equal(connection.perDialTimeout, 8);
    });

    it("exports what an operator and the other stacks need", async () => {
        const run = await runProgram(primaryOptions());
        assert.deepEqual(run.outputs.endpoints, [
            "https://helm.wirebot.chat",
            "https://wins.wirebot.chat",
            "https://api.wirebot.chat",
            "https://ai.clientbiz.com",
        ]);
        assert.match(String(run.outputs.nextCommand), /pulumi up -s standby/);
        assert.deepEqual(Object.keys(run.outputs.primaryHost as object).sort(), ["arch", "host", "hostKey", "port", "user"]);
    });
});
