import { newNonce, NONCE_HEADER, SIGNATURE_HEADER, signRequest, TARGET_HEADER, TIMESTAMP_HEADER } from "./heartbeat";

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
export class Unreachable extends Error {}

export interface Answer<T> {
    status: number;
    body: T;
}

/** A signed request to another agent (or this host's own); the answer's JSON, whatever its status. */
export async function signedCall<T = Record<string, unknown>>(token: string, endpoint: Endpoint, method: "GET" | "POST", path: string, body: unknown, timeoutMs: number): Promise<Answer<T>> {
    const target = targetOf(endpoint);
    const text = method === "GET" ? "" : JSON.stringify(body ?? {});
    let status: number;
    let raw: string;
    try {
        const response = await fetch(`http://${target}${path}`, {
            method,
            headers: signedHeaders(token, method, path, target, text),
            body: method === "GET" ? undefined : text,
            signal: AbortSignal.timeout(timeoutMs),
        });
        status = response.status;
        raw = await response.text();
    } catch (err) {
        throw new Unreachable(describe(err));
    }
    return { status, body: JSON.parse(raw) as T };
}

function describe(err: unknown): string {
    const e = err as { message?: string; cause?: { code?: string; message?: string } };
    const cause = e.cause?.code ?? e.cause?.message;
    return cause ? `${e.message} (${cause})` : String(e.message ?? err);
}
