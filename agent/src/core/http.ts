import * as http from "node:http";

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
