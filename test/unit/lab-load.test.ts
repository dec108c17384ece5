import { strict as assert } from "node:assert";
import * as http from "node:http";
import { after, before, describe, it } from "node:test";
import type { LabEnv } from "../../lab/lab";
import { Load, Sampler } from "../../lab/runtime-harness";

// The lab's load generator, against a scoreboard on this machine's loopback at
// the port the lab's listens on: what it sends, and to which database.
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("the lab's load", () => {
    const seen: { tenant?: string; id: string }[] = [];
    let server: http.Server | undefined;
    let skip: string | false = false;
    const env = { address: { primary: "127.0.0.1", standby: "127.0.0.1" } } as unknown as LabEnv;
    const sampler = { serving: () => "primary" } as unknown as Sampler;

    before(async () => {
        server = http.createServer((req, res) => {
            let body = "";
            req.on("data", (d) => (body += d));
            req.on("end", () => {
                seen.push({ tenant: req.headers["x-tenant"] as string | undefined, id: (JSON.parse(body) as { id: string }).id });
                res.end("{}");
            });
        });
        await new Promise<void>((resolve) => {
            server!.once("error", () => {
                skip = "port 8100 is taken on this machine";
                server = undefined;
                resolve();
            });
            server!.listen(8100, "127.0.0.1", resolve);
        });
    });
    after(() => server?.close());

    it("writes the main database, one tenant's database each a second, or nothing with no tenants", async (t) => {
        if (skip) return t.skip(skip);
        const none = new Load(env, sampler, []);
        await sleep(300);
        await none.stop();
        assert.equal(seen.length, 0, "no tenants, no events");

        const tenants = new Load(env, sampler, ["a", "b"]);
        await sleep(1200);
        await tenants.stop();
        assert.ok(seen.length >= 2 && seen.every((e) => e.tenant !== undefined), JSON.stringify(seen));
        assert.deepEqual(seen.slice(0, 2), [{ tenant: "a", id: "t-a-1" }, { tenant: "b", id: "t-b-1" }]);
        assert.deepEqual(tenants.acked.map((a) => a.seq).slice(0, 2), [1, 1]);
        const count = seen.length;

        const main = new Load(env, sampler);
        await sleep(500);
        await main.stop();
        const mainEvents = seen.slice(count);
        assert.ok(mainEvents.length >= 15, `${mainEvents.length} main events in half a second at 50/s`);
        assert.ok(mainEvents.every((e) => e.tenant === undefined && /^load-\d+-\d+$/.test(e.id)));
    });
});
