import { strict as assert } from "node:assert";
import * as http from "node:http";
import { describe, it } from "node:test";
import { runProbes } from "../../agent/src/drill/probes";
import { freePort } from "./loopback-agent";

// The drill probes a side right after starting its services. The real OpenClaw
// gateway takes 10-30 s from its start to listening, then answers 503 for a
// moment; the probes wait for a service that is still starting, within a bound.

function serve(port: number, handler: http.RequestListener): Promise<http.Server> {
    return new Promise((resolve) => {
        const server = http.createServer(handler);
        server.listen(port, "127.0.0.1", () => resolve(server));
    });
}

const close = (server: http.Server) => new Promise((r) => server.close(r));

function chatReply(res: http.ServerResponse): void {
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ choices: [{ message: { role: "assistant", content: "OK" } }] }));
}

describe("drill probes", () => {
    it("wait for a service that is not listening yet, then for its 503s to end", async () => {
        const port = await freePort();
        let unavailable = 2;
        let server: http.Server | undefined;
        const starting = setTimeout(async () => {
            server = await serve(port, (req, res) => {
                if (unavailable-- > 0) return res.writeHead(503).end("starting");
                if (req.method === "POST") return chatReply(res);
                res.writeHead(200).end("ok");
            });
        }, 1500);
        try {
            const probes = { endpoints: [{ name: "gateway", url: `http://127.0.0.1:${port}/` }], chat: { url: `http://127.0.0.1:${port}/v1/chat/completions`, model: "openclaw" }, event: null };
            const { results } = await runProbes(probes, "drill-1", undefined, 20_000);
            assert.deepEqual(
                results.map((r) => [r.name, r.ok, r.detail]),
                [
                    ["gateway responds", true, "HTTP 200"],
                    ["chat answers", true, 'replied "OK"'],
                ],
            );
            assert.ok(results[0].ms >= 1000, `waited for the service to listen (${results[0].ms} ms)`);
        } finally {
            clearTimeout(starting);
            if (server) await close(server);
        }
    });

    it("fail once the wait is over, with what the service last said", async () => {
        const refused = await freePort();
        const port = await freePort();
        const server = await serve(port, (_req, res) => res.writeHead(503).end());
        try {
            const probes = {
                endpoints: [
                    { name: "gone", url: `http://127.0.0.1:${refused}/` },
                    { name: "stuck", url: `http://127.0.0.1:${port}/` },
                ],
                chat: null,
                event: null,
            };
            const started = Date.now();
            const { results } = await runProbes(probes, "drill-2", undefined, 2500);
            assert.ok(Date.now() - started < 10_000, "the wait is bounded");
            assert.equal(results[0].ok, false);
            assert.match(results[0].detail, /fetch failed/);
            assert.deepEqual([results[1].ok, results[1].detail], [false, "HTTP 503"]);
        } finally {
            await close(server);
        }
    });

    it("do not wait for an answer that came: a 404 from a running gateway fails the chat at once", async () => {
        const port = await freePort();
        const server = await serve(port, (_req, res) => res.writeHead(404).end("Not Found"));
        try {
            const started = Date.now();
            const { results } = await runProbes({ endpoints: [], chat: { url: `http://127.0.0.1:${port}/v1/chat/completions`, model: "openclaw" }, event: null }, "drill-3", undefined, 30_000);
            assert.deepEqual([results[0].ok, results[0].detail], [false, "HTTP 404"]);
            assert.ok(Date.now() - started < 5000, "no retries on an answer");
        } finally {
            await close(server);
        }
    });
});
