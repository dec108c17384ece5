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
    let response: Response;
    let raw: string;
    try {
        response = await fetch(`http://${target}${path}`, { method, headers, body: method === "GET" ? undefined : text, signal: AbortSignal.timeout(timeoutMs) });
        raw = await response.text();
    } catch (err) {
        throw new Unreachable(describe(err), (err as Error | undefined)?.name === "TimeoutError" ? "ETIMEDOUT" : undefined);
    }
    const what = `the answer to ${method} ${path} (HTTP ${response.status})`;
    const at = response.headers.get(TIMESTAMP_HEADER) ?? "";
    const signature = response.headers.get(SIGNATURE_HEADER) ?? undefined;
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

function describe(err: unknown): string {
    const e = err as { message?: string; cause?: { code?: string; message?: string } };
    const cause = e.cause?.code ?? e.cause?.message;
    return cause ? `${e.message} (${cause})` : String(e.message ?? err);
}
