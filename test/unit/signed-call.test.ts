import { strict as assert } from "node:assert";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { NONCE_HEADER, SIGNATURE_HEADER, signAnswer, TIMESTAMP_HEADER } from "../../agent/src/heartbeat/heartbeat";
import { signedCall, Unreachable } from "../../agent/src/heartbeat/signed-call";

const TOKEN = "c".repeat(48);

// A flip's calls to the other agent come between pulls and merges that can
// take many seconds, while the agent's server closes idle connections after
// five: no call may ride a connection kept from the one before.
describe("a signed call", () => {
    let server: http.Server;
    let port = 0;
    let connections = 0;
    const seen: { connection?: string; method?: string }[] = [];

    before(async () => {
        server = http.createServer((req, res) => {
            req.resume();
            req.on("end", () => {
                seen.push({ connection: req.headers.connection, method: req.method });
                if (req.url === "/slow") return; // never answers
                const body = JSON.stringify({ ok: true });
                const at = new Date().toISOString();
                res.writeHead(200, { "content-type": "application/json", [SIGNATURE_HEADER]: signAnswer(TOKEN, String(req.headers[NONCE_HEADER]), 200, at, body), [TIMESTAMP_HEADER]: at });
                res.end(body);
            });
        });
        server.keepAliveTimeout = 60_000;
        server.on("connection", () => connections++);
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        port = (server.address() as AddressInfo).port;
    });
    after(() => {
        server.closeAllConnections();
        server.close();
    });

    it("opens a connection of its own and asks the peer to close it after the answer", async () => {
        const before = connections;
        for (const method of ["POST", "GET", "POST"] as const) {
            const answer = await signedCall<{ ok: boolean }>(TOKEN, { address: "127.0.0.1", port }, method, "/merged", { id: "x" }, 5000);
            assert.equal(answer.status, 200);
            assert.deepEqual(answer.body, { ok: true });
        }
        assert.equal(connections - before, 3, "three calls, three connections, though the server would keep each open for a minute");
        assert.deepEqual(seen.slice(-3).map((s) => s.connection), ["close", "close", "close"]);
    });

    it("gives up at its limit as a timeout, and names a refused connection", async () => {
        const started = Date.now();
        await assert.rejects(signedCall(TOKEN, { address: "127.0.0.1", port }, "POST", "/slow", {}, 300), (err: Unreachable) => err instanceof Unreachable && err.code === "ETIMEDOUT" && /no answer within 300 ms/.test(err.message));
        assert.ok(Date.now() - started < 2000);
        const closed = http.createServer();
        await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
        const freed = (closed.address() as AddressInfo).port;
        await new Promise((resolve) => closed.close(resolve));
        await assert.rejects(signedCall(TOKEN, { address: "127.0.0.1", port: freed }, "GET", "/serving", undefined, 2000), (err: Error) => err instanceof Unreachable && /ECONNREFUSED/.test(err.message));
    });
});
