import * as http from "node:http";
import { log } from "./log";

export const MAX_BODY_BYTES = 64 * 1024;

export function readBody(req: http.IncomingMessage): Promise<string> {
    return new Promise((resolve, reject) => {
        let size = 0;
        const chunks: Buffer[] = [];
        req.on("data", (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_BODY_BYTES) {
                reject(new Error("body too large"));
                req.destroy();
                return;
            }
            chunks.push(chunk);
        });
        req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
        req.on("error", reject);
    });
}

type AnswerSigner = (status: number, body: string) => Record<string, string>;
const answerSigners = new WeakMap<http.IncomingMessage, AnswerSigner>();

/**
 * Set once a request's own signature is found good (heartbeat/auth.ts): every
 * answer to it then goes out signed, whichever handler sends it, so no answer
 * the caller acts on can be left unsigned by mistake.
 */
export function signAnswersTo(req: http.IncomingMessage, signer: AnswerSigner): void {
    answerSigners.set(req, signer);
}

export function sendJson(res: http.ServerResponse, status: number, value: unknown): void {
    const body = JSON.stringify(value);
    const signature = answerSigners.get(res.req)?.(status, body) ?? {};
    res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body), ...signature });
    res.end(body);
}

export function listen(server: http.Server, address: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, address, () => resolve());
    });
}

/** How often an address that is not on this host yet is tried again. */
export const REBIND_MS = 2000;

/** Addresses that exist from boot: loopback, and the wildcards that include it. */
const ALWAYS_PRESENT = ["127.0.0.1", "::1", "localhost", "0.0.0.0", "::"];

/**
 * Serves `handler` on each address, one server per address, on one port.
 * Loopback (and a wildcard) is bound at once, or the agent fails: this host's
 * own commands and the tunnel's connector reach it there. Any other address is
 * the host's on the WireGuard link, which wg-quick may bring up after the
 * agent starts, or take down and up again: while the address is missing
 * (EADDRNOTAVAIL) the agent says so once, serves loopback meanwhile, and binds
 * it as soon as it exists. The servers are returned as they are made; the
 * link's listens once it can.
 */
export async function listenOn(handler: http.RequestListener, addresses: string[], port: number, who: string): Promise<http.Server[]> {
    const servers: http.Server[] = [];
    for (const address of addresses) {
        const server = http.createServer(handler);
        servers.push(server);
        if (ALWAYS_PRESENT.includes(address)) await listen(server, address, port);
        else await listenWhenPresent(server, address, port, who);
    }
    return servers;
}

function listenWhenPresent(server: http.Server, address: string, port: number, who: string): Promise<void> {
    return new Promise((resolve, reject) => {
        let waiting = false;
        let said = "";
        const attempt = () => {
            const failed = (err: NodeJS.ErrnoException) => {
                server.off("listening", bound);
                if (!waiting && err.code !== "EADDRNOTAVAIL") return reject(err);
                const why = err.code === "EADDRNOTAVAIL" ? "no such address on this host (the WireGuard link is not up)" : err.message;
                if (why !== said) log(`${who}: cannot listen on ${address}:${port} yet: ${why}; listening on the others meanwhile, trying again every ${REBIND_MS / 1000} s`);
                said = why;
                if (!waiting) {
                    waiting = true;
                    resolve();
                }
                setTimeout(attempt, REBIND_MS).unref();
            };
            const bound = () => {
                server.off("error", failed);
                server.on("error", (err) => log(`${who}: ${address}:${port}: ${err.message}`));
                if (waiting) log(`${who}: listening on ${address}:${port} now`);
                resolve();
            };
            server.once("error", failed);
            server.once("listening", bound);
            server.listen(port, address);
        };
        attempt();
    });
}
