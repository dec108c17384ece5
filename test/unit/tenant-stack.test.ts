import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { tenantOptions, TUNNEL_ID, ZONE_ID } from "./fixtures";
import { configErrorOf, runProgram } from "./harness";

describe("tenant stack", () => {
    it("routes the tenant's hostnames to the tunnel in the tenant's zone", async () => {
        const run = await runProgram(tenantOptions());
        const dns = run.ofType("cloudflare:index/dnsRecord:DnsRecord");
        assert.equal(dns.length, 1);
        assert.equal(dns[0].inputs.name, "ai.clientbiz.com");
        assert.equal(dns[0].inputs.zoneId, ZONE_ID);
        assert.equal(dns[0].inputs.content, `${TUNNEL_ID}.cfargotunnel.com`);
    });

    it("puts its directories, config and 0600 secrets on both hosts", async () => {
        const run = await runProgram(tenantOptions());
        for (const host of ["primary", "standby"]) {
            const prepare = run.byName(`${host}-tenant-acme-prepare`);
            assert.match(prepare.inputs.stdin, /\/data\/wirebot\/scoreboard\/tenants\/acme:wirebot:0750/);
            assert.match(prepare.inputs.stdin, /\/data\/wirebot\/clients\/acme:wirebot:0750/);
            const secrets = run.byName(`${host}-file-etc-wirebot-tenants-acme.env`);
            assert.ok(secrets.secretInputs.includes("stdin"));
            assert.match(secrets.inputs.stdin, /^MODE='0600'$/m);
            const env = Buffer.from(/^CONTENT_B64='([^']*)'$/m.exec(secrets.inputs.stdin)![1], "base64").toString();
            assert.equal(env, 'OPENAI_API_KEY="sk-tenant-secret"\nBRAND="Acme"\n');
            run.byName(`${host}-file-etc-wirebot-tenants-acme.json`);
        }
        assert.equal(run.byName("standby-file-etc-wirebot-tenants-acme.env").inputs.connection.host, "198.51.100.20");
    });

    it("places the scoreboard database where the directory watch replicates it", async () => {
        const run = await runProgram(tenantOptions());
        assert.equal(run.outputs.scoreboardDatabase, "/data/wirebot/scoreboard/tenants/acme/events.db");
        assert.deepEqual(run.outputs.dataKeptOnDestroy, ["/data/wirebot/scoreboard/tenants/acme", "/data/wirebot/clients/acme"]);
    });

    it("refuses hostnames the primary's tunnel does not route yet", async () => {
        const message = await configErrorOf(tenantOptions({ hostnames: ["ai.other.com"] }));
        assert.match(message, /wirebot:hostnames: bad value \["ai.other.com"\]: not routed by the tunnel yet; add them to wirebot:tenantHostnames/);
    });
});
