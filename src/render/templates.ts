import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

export const HOST_DIR = path.join(__dirname, "..", "..", "host");

export function assetPath(relative: string): string {
    return path.join(HOST_DIR, relative);
}

export function readAsset(relative: string): string {
    return fs.readFileSync(assetPath(relative), "utf8");
}

/**
 * Fills `{{name}}` placeholders. A placeholder without a value is an error rather
 * than an empty string, so a typo never ships a half-rendered unit to a host.
 */
export function renderTemplate(relative: string, values: Record<string, string>): string {
    const text = readAsset(relative).replace(/\{\{([A-Za-z0-9_]+)\}\}/g, (_, name: string) => {
        const value = values[name];
        if (value === undefined) throw new Error(`template ${relative}: no value for {{${name}}}`);
        return value;
    });
    // Optional lines render as empty strings; drop the blank runs they leave.
    return text.replace(/\n{3,}/g, "\n\n");
}

export function shellQuote(value: string): string {
    return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * A script from host/scripts with its inputs assigned at the top. The scripts
 * check their inputs with ${NAME:?}, so they stay runnable and lintable as files.
 */
export function renderScript(name: string, inputs: Record<string, string>): string {
    const body = readAsset(`scripts/${name}`).replace(/^#!.*\n/, "");
    const assignments = Object.entries(inputs)
        .map(([key, value]) => `${key}=${shellQuote(value)}`)
        .join("\n");
    return `${assignments}\n${body}`;
}

export function sha256(text: string | Buffer): string {
    return crypto.createHash("sha256").update(text).digest("hex");
}

export function sha256OfFile(file: string): string {
    return sha256(fs.readFileSync(file));
}
