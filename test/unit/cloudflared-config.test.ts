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

describe("the connector config, checked by cloudflared", () => {
    const rules = ingressRules(
        [
            { hostname: "helm.wirebot.chat", service: "gateway" },
            { hostname: "wins.wirebot.chat", service: "scoreboard" },
            { hostname: "api.wirebot.chat", service: "scoreboard" },
        ],
        ["ai.clientbiz.com"],
        resolveServices({}),
    );
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "wirebot-cf-")), "wirebot.yml");
    fs.writeFileSync(file, cloudflaredConfig("57df17a8-b9d1-4790-bab9-8157ac51641b", rules));

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
