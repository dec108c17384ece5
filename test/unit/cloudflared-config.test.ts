import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { cloudflaredConfig, ingressRules } from "../../src/render/ingress";
import { resolveServices } from "../../src/render/service-units";

// The connector config the program renders, read by the real cloudflared.
function cloudflared(args: string[]): { status: number; out: string } {
    const r = spawnSync("cloudflared", args, { encoding: "utf8" });
    assert.equal(r.error, undefined, "cloudflared is not on PATH: run `bash lab/tools.sh install cloudflared`");
    return { status: r.status ?? -1, out: r.stdout + r.stderr };
}

const ROUTES = [
    { hostname: "helm.wirebot.chat", service: "gateway" as const },
    { hostname: "wins.wirebot.chat", service: "scoreboard" as const },
    { hostname: "api.wirebot.chat", service: "scoreboard" as const },
];

/** The connector config for the default routes and services, with the agents on `agentPort`, written where cloudflared reads it. */
function renderedConfig(agentPort: number): string {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "wirebot-cf-")), "wirebot.yml");
    fs.writeFileSync(file, cloudflaredConfig("57df17a8-b9d1-4790-bab9-8157ac51641b", ingressRules(ROUTES, ["ai.clientbiz.com"], resolveServices({}), agentPort)));
    return file;
}

/** Which rule cloudflared matches for `url` (its "Matched rule #n"), and the service of that rule. */
function matched(file: string, url: string): { rule: number; service: string; out: string } {
    const r = cloudflared(["tunnel", "--config", file, "ingress", "rule", url]);
    assert.equal(r.status, 0, r.out);
    const rule = /^Matched rule #(\d+)$/m.exec(r.out);
    const service = /^\s*service: (\S+)\s*$/m.exec(r.out);
    assert.ok(rule && service, r.out);
    return { rule: Number(rule[1]), service: service[1], out: r.out };
}

describe("the connector config, checked by cloudflared", () => {
    const file = renderedConfig(8300);

    it("passes cloudflared tunnel ingress validate", () => {
        const r = cloudflared(["tunnel", "--config", file, "ingress", "validate"]);
        assert.equal(r.status, 0, r.out);
        assert.match(r.out, /^OK$/m);
    });

    for (const [url, service] of [
        ["https://helm.wirebot.chat/", "http://localhost:18789"],
        ["https://wins.wirebot.chat/", "http://localhost:8100"],
        ["https://api.wirebot.chat/v1/events", "http://localhost:8100"],
        ["https://ai.clientbiz.com/", "http://localhost:18789"],
        ["https://unknown.example.com/", "http_status:404"],
    ]) {
        it(`routes ${url} to ${service}`, () => {
            const r = cloudflared(["tunnel", "--config", file, "ingress", "rule", url]);
            assert.equal(r.status, 0, r.out);
            assert.match(r.out, new RegExp(`service: ${service.replace(/[.:/]/g, "\\$&")}\\s*$`, "m"));
        });
    }
});

describe("the witness route, checked by cloudflared", () => {
    const file = renderedConfig(8300);

    it("sends the witness path on the first hostname, question and all, to the agent on the serving host", () => {
        for (const url of ["https://helm.wirebot.chat/.well-known/wirebot/serving", `https://helm.wirebot.chat/.well-known/wirebot/serving?challenge=${"ab".repeat(32)}`]) {
            const { rule, service, out } = matched(file, url);
            assert.equal(rule, 0, out);
            assert.equal(service, "http://localhost:8300", out);
            assert.match(out, /^\s*path: \^\/\\\.well-known\/wirebot\/serving\$$/m);
        }
    });

    it("leaves every other path, and the path on every other hostname, to the rules it had", () => {
        for (const [url, rule, service] of [
            ["https://helm.wirebot.chat/", 1, "http://localhost:18789"],
            ["https://helm.wirebot.chat/.well-known/wirebot/serving/", 1, "http://localhost:18789"],
            ["https://helm.wirebot.chat/.well-known/wirebot/servingx", 1, "http://localhost:18789"],
            ["https://helm.wirebot.chat/x/.well-known/wirebot/serving", 1, "http://localhost:18789"],
            ["https://helm.wirebot.chat/.well-known/wirebot/heartbeat", 1, "http://localhost:18789"],
            ["https://wins.wirebot.chat/.well-known/wirebot/serving", 2, "http://localhost:8100"],
            ["https://api.wirebot.chat/.well-known/wirebot/serving", 3, "http://localhost:8100"],
            ["https://ai.clientbiz.com/.well-known/wirebot/serving", 4, "http://localhost:18789"],
            ["https://unknown.example.com/.well-known/wirebot/serving", 5, "http_status:404"],
        ] as const) {
            const found = matched(file, url);
            assert.deepEqual([found.rule, found.service], [rule, service], `${url}: ${found.out}`);
        }
    });

    it("goes to the agents' configured port", () => {
        const moved = renderedConfig(9471);
        assert.equal(cloudflared(["tunnel", "--config", moved, "ingress", "validate"]).status, 0);
        assert.equal(matched(moved, "https://helm.wirebot.chat/.well-known/wirebot/serving").service, "http://localhost:9471");
        assert.equal(matched(moved, "https://helm.wirebot.chat/").service, "http://localhost:18789");
    });
});
