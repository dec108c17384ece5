import * as http from "node:http";
import { newNonce, NONCE_HEADER, sameSignature, SIGNATURE_HEADER, signAnswer, signRequest, TARGET_HEADER, TIMESTAMP_HEADER } from "./heartbeat";

export interface Endpoint {
    address: string;
    port: number;
}

/** `address:port`, with an IPv6 address in brackets as in a URL. */
export function targetOf(endpoint: Endpoint): string {
    return endpoint.address.includes(":") ? `[${endpoint.address}]:${endpoint.port}` : `${endpoint.address}:${endpoint.port}`;
}

/** Headers for a signed request to the agent at `target`. */
export function signedHeaders(token: string, method: string, path: string, target: string, body: string): Record<string, string> {
    const timestamp = new Date().toISOString();
    const nonce = newNonce();
    return {
        "content-type": "application/json",
        [SIGNATURE_HEADER]: signRequest(token, { method, path, target, timestamp, nonce, body }),
        [TIMESTAMP_HEADER]: timestamp,
        [NONCE_HEADER]: nonce,
        [TARGET_HEADER]: target,
    };
}

/** No answer at all: refused connection, no route, timeout. */
export class Unreachable extends Error {
    constructor(
        message: string,
        /** "ETIMEDOUT" when no answer came within the call's limit, so a flip's deadline names the limit that struck (core/deadline.ts). */
        readonly code?: string,
    ) {
        super(message);
    }
}

/** An answer that is not the peer's own answer to this request: unsigned, signed with another token, or for another request. */
export class UntrustedAnswer extends Error {
    constructor(
        readonly status: number,
        message: string,
    ) {
        super(message);
    }
}

export interface Answer<T> {
    status: number;
    body: T;
    /** How far the peer's clock is ahead of this host's, from the answer's signed time (transit included). */
    skewMs: number;
}

/**
 * A signed request to another agent (or this host's own). Only an answer
 * signed with the token over this request's nonce is returned, whatever its
 * status; anything else is an UntrustedAnswer, which no caller may take for
 * a yes.
 */
export async function signedCall<T = Record<string, unknown>>(token: string, endpoint: Endpoint, method: "GET" | "POST", path: string, body: unknown, timeoutMs: number): Promise<Answer<T>> {
    const target = targetOf(endpoint);
    const text = method === "GET" ? "" : JSON.stringify(body ?? {});
    const headers = signedHeaders(token, method, path, target, text);
    const response = await send(endpoint, method, path, headers, text, timeoutMs);
    const raw = response.raw;
    const what = `the answer to ${method} ${path} (HTTP ${response.status})`;
    const at = header(response.headers, TIMESTAMP_HEADER) ?? "";
    const signature = header(response.headers, SIGNATURE_HEADER);
    if (!sameSignature(signAnswer(token, headers[NONCE_HEADER], response.status, at, raw), signature)) {
        const refused = response.status === 401 ? "; the peer refused this request's signature (another heartbeat token, or clocks too far apart)" : "";
        throw new UntrustedAnswer(response.status, `${what} is not signed by the peer agent for this request${signature ? " (bad signature)" : ""}${refused}; it is not trusted`);
    }
    try {
        return { status: response.status, body: JSON.parse(raw) as T, skewMs: Date.parse(at) - Date.now() };
    } catch {
        throw new UntrustedAnswer(response.status, `${what} is signed but not JSON`);
    }
}

interface RawAnswer {
    status: number;
    headers: http.IncomingHttpHeaders;
    raw: string;
}

/**
 * One request on a connection of its own, closed after the answer. Agents call
 * each other rarely, and a flip's calls come between long pulls and merges
 * during which this process reads no socket: a kept-alive connection the peer
 * closed meanwhile would be picked for the next call and fail it.
 */
function send(endpoint: Endpoint, method: string, path: string, headers: Record<string, string>, text: string, timeoutMs: number): Promise<RawAnswer> {
    return new Promise((resolve, reject) => {
        const body = method === "GET" ? undefined : Buffer.from(text);
        const request = http.request(
            { host: endpoint.address, port: endpoint.port, path, method, agent: false, headers: { ...headers, connection: "close", ...(body ? { "content-length": String(body.length) } : {}) } },
            (response) => {
                const chunks: Buffer[] = [];
                response.on("data", (chunk: Buffer) => chunks.push(chunk));
                response.on("end", () => {
                    clearTimeout(timer);
                    resolve({ status: response.statusCode ?? 0, headers: response.headers, raw: Buffer.concat(chunks).toString("utf8") });
                });
                response.on("error", fail);
            },
        );
        const timer = setTimeout(() => {
            request.destroy();
            reject(new Unreachable(`no answer within ${timeoutMs} ms`, "ETIMEDOUT"));
        }, timeoutMs);
        function fail(err: Error): void {
            clearTimeout(timer);
            reject(new Unreachable(err.message || String(err)));
        }
        request.on("error", fail);
        request.end(body);
    });
}

function header(headers: http.IncomingHttpHeaders, name: string): string | undefined {
    const value = headers[name.toLowerCase()];
    return Array.isArray(value) ? value[0] : value;
}
