import * as crypto from "node:crypto";
import type { AgentConfig } from "../../contract";
import { log } from "../core/log";
import { hmac, sameSignature } from "./heartbeat";

/**
 * The witness answers which host serves the public hostname (through Cloudflare,
 * so it sees what users see). The standby asks it before taking over, and the
 * primary before it starts without the standby's yes, so a cut link between the
 * two hosts never makes two of them serve.
 *
 * Two kinds (the agent config's `witness`):
 * - signed (the default): the tunnel's own route to WITNESS_PATH, which reaches
 *   the agent of whichever host's connector is up. It is asked with a fresh
 *   random challenge and answers `{host, serving, challenge, at, signature}`,
 *   signed with the heartbeat token (signWitnessAnswer); only an answer that
 *   verifies, echoes this question's challenge and is timed near this host's
 *   clock names a host;
 * - unsigned (the operator's own URL): a 200 whose JSON names the serving host
 *   in `host`.
 * Either way Cloudflare's 530, which it gives when no connector serves the
 * tunnel, is "nobody serves". Anything else (no connection, a timeout, another
 * status such as the 502 of a connector whose agent does not answer, a body
 * that names no host, an answer that does not verify) is "cannot tell".
 */
export type WitnessAnswer = { known: true; servingHost: string | null } | { known: false; why: string };
export type Decision = "activate" | "partition" | "already-serving" | "cannot-tell";
export type WitnessConfig = NonNullable<AgentConfig["witness"]>;

/** Cloudflare's answer when no connector serves the tunnel (error 1033). */
export const NO_CONNECTOR = 530;

/** Signed under its own label: a witness answer can pass for no heartbeat, signed request or signed answer, nor they for it. */
const WITNESS_ANSWER_LABEL = "wirebot-witness-answer";
/** What a question's challenge must be: hex, 32 to 128 digits (the agents send 64). */
export const CHALLENGE_PATTERN = /^[0-9a-fA-F]{32,128}$/;
/**
 * How far a signed answer's time may be from this host's clock. The challenge
 * already makes a recorded answer useless; the time is a second bound, wide
 * enough for two hosts' clocks that disagree by seconds (the heartbeats report
 * that much), narrow enough that a host with a clock gone wrong is named.
 */
export const WITNESS_SKEW_MS = 60_000;

export interface SignedWitnessAnswer {
    host: string;
    serving: boolean;
    challenge: string;
    at: string;
    signature: string;
}

/** HMAC-SHA256 with the heartbeat token over "wirebot-witness-answer\n<host>\n<serving>\n<challenge>\n<at>", as `v2=<hex>`. */
export function signWitnessAnswer(token: string, host: string, serving: boolean, challenge: string, at: string): string {
    return hmac(token, [WITNESS_ANSWER_LABEL, host, String(serving), challenge, at]);
}

export function newChallenge(): string {
    return crypto.randomBytes(32).toString("hex");
}

/**
 * The rule: only a witness that says nobody serves lets the standby activate.
 * "Cannot tell" is not "the primary is gone": a witness that is down, slow or
 * answering something unexpected must never be what makes two sides serve.
 */
export function decide(answer: WitnessAnswer, standbyHost: string): Decision {
    if (!answer.known) return "cannot-tell";
    if (answer.servingHost === null) return "activate";
    return answer.servingHost === standbyHost ? "already-serving" : "partition";
}

export function describeAnswer(answer: WitnessAnswer): string {
    return answer.known ? `serving: ${answer.servingHost ?? "nobody"}` : `cannot tell: ${answer.why}`;
}

/**
 * Asks the witness once, within `timeoutMs`. A signed witness needs the
 * heartbeat token; without it, or with an answer that does not verify, the
 * witness cannot tell.
 */
export async function askWitness(witness: WitnessConfig, timeoutMs: number, token?: string): Promise<WitnessAnswer> {
    if (!witness.signed) return askUnsigned(witness.url, timeoutMs);
    if (!token) return { known: false, why: "the witness's answers are signed, and this host has no heartbeat token to check them" };
    const challenge = newChallenge();
    let url: URL;
    try {
        url = new URL(witness.url);
    } catch {
        return { known: false, why: `the witness URL ${witness.url} is not a URL` };
    }
    url.searchParams.set("challenge", challenge);
    let status: number;
    let text: string;
    try {
        const response = await fetch(url, { headers: { accept: "application/json" }, signal: AbortSignal.timeout(timeoutMs) });
        status = response.status;
        text = await response.text();
    } catch (err) {
        return { known: false, why: `no answer: ${(err as Error).message}` };
    }
    if (status === NO_CONNECTOR) return { known: true, servingHost: null };
    if (status !== 200) return { known: false, why: `HTTP ${status}` };
    const checked = checkSignedAnswer(text, challenge, token, Date.now());
    if (!checked.known && checked.tampered) log(`witness: ${checked.why} (${witness.url})`);
    return checked.known ? checked : { known: false, why: checked.why };
}

async function askUnsigned(url: string, timeoutMs: number): Promise<WitnessAnswer> {
    try {
        const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
        const text = await response.text();
        if (response.status === NO_CONNECTOR) return { known: true, servingHost: null };
        if (response.status !== 200) return { known: false, why: `HTTP ${response.status}` };
        return servingHostOf(text);
    } catch (err) {
        return { known: false, why: `no answer: ${(err as Error).message}` };
    }
}

function servingHostOf(text: string): WitnessAnswer {
    let body: unknown;
    try {
        body = JSON.parse(text);
    } catch {
        return { known: false, why: "the answer is not JSON" };
    }
    const host = (body as { host?: unknown } | null)?.host;
    return typeof host === "string" && host !== "" ? { known: true, servingHost: host } : { known: false, why: 'the answer names no serving host ("host")' };
}

/** `tampered`: the answer is shaped like a signed one but does not verify, or verifies for another question. */
type Checked = { known: true; servingHost: string } | { known: false; why: string; tampered: boolean };

const POSSIBLE_TAMPERING = "possible tampering";

/**
 * A 200 from a signed witness names its host only when its signature is good
 * (timing-safe), it echoes the challenge this question carried, its time is
 * within WITNESS_SKEW_MS of this host's clock, and it says its connector
 * serves. The signature is checked first, so a forgery is never described by
 * what it claims.
 */
export function checkSignedAnswer(text: string, challenge: string, token: string, nowMs: number): Checked {
    let body: Partial<Record<keyof SignedWitnessAnswer, unknown>>;
    try {
        body = JSON.parse(text) as typeof body;
    } catch {
        return { known: false, why: "the answer is not JSON", tampered: false };
    }
    if (body === null || typeof body !== "object") return { known: false, why: "the answer is not a JSON object", tampered: false };
    const { host, serving, challenge: echoed, at, signature } = body;
    if (typeof signature !== "string" || signature === "") {
        return { known: false, why: `the answer is not signed: it cannot be told from a forgery, ${POSSIBLE_TAMPERING}`, tampered: true };
    }
    if (typeof host !== "string" || host === "" || /[\r\n]/.test(host) || typeof serving !== "boolean" || typeof echoed !== "string" || typeof at !== "string") {
        return { known: false, why: `the signed answer lacks its host, serving, challenge or time: ${POSSIBLE_TAMPERING}`, tampered: true };
    }
    if (!sameSignature(signWitnessAnswer(token, host, serving, echoed, at), signature)) {
        return { known: false, why: `the answer's signature is not the heartbeat token's (${POSSIBLE_TAMPERING}, or the hosts hold different tokens)`, tampered: true };
    }
    if (echoed !== challenge) {
        return { known: false, why: `the answer is signed for another challenge than this question's: a replayed answer, ${POSSIBLE_TAMPERING}`, tampered: true };
    }
    const sent = Date.parse(at);
    if (Number.isNaN(sent)) return { known: false, why: "the signed answer's time is not a time", tampered: false };
    const offset = sent - nowMs;
    if (Math.abs(offset) > WITNESS_SKEW_MS) {
        const seconds = (Math.abs(offset) / 1000).toFixed(0);
        return { known: false, why: `${host} answered, signed, with a time ${seconds} s ${offset > 0 ? "ahead of" : "behind"} this host's clock (more than ${WITNESS_SKEW_MS / 1000} s): fix the clocks`, tampered: false };
    }
    if (!serving) return { known: false, why: `${host} answered through the tunnel but says its connector is not active`, tampered: false };
    return { known: true, servingHost: host };
}
