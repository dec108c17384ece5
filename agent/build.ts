import * as path from "node:path";
import { buildSync } from "esbuild";

/**
 * Bundles the host agent into one file that Node 18+ runs with no packages
 * installed on the host. The output depends only on the sources, so its hash is
 * stable and a host step re-runs only when the agent changes.
 */
export function buildAgentBundle(): string {
    const result = buildSync({
        entryPoints: [path.join(__dirname, "src", "main.ts")],
        bundle: true,
        platform: "node",
        target: "node18",
        format: "cjs",
        write: false,
        minify: false,
        legalComments: "none",
        logLevel: "silent",
        absWorkingDir: path.resolve(__dirname, ".."),
    });
    return `#!/usr/bin/env node\n${withoutPathComments(result.outputFiles[0].text)}`;
}

// esbuild names each module by its path relative to the working directory; left
// in, the same code would redeploy the agent whenever it is built from elsewhere.
function withoutPathComments(bundle: string): string {
    return bundle.replace(/^\/\/ [^\s]+\.(?:[cm]?[jt]s|json)\n/gm, "");
}
