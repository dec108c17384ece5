import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import type { AgentConfig } from "../../agent/contract";
import { agentConfigSchema } from "../../agent/contract";
import { localAddressOf, targetsOf } from "../../agent/src/heartbeat/auth";
import { loopbackAgentConfig } from "./loopback-agent";

// Where the agents listen: the watchdog on loopback and on its address on the
// WireGuard link, which may come up after the agent does.

const REPO = path.resolve(__dirname, "../..");

describe("an agent's listen addresses", () => {
    const base = loopbackAgentConfig("/tmp/none", "standby", "standby", 8300, 8300);
    const watchdog: AgentConfig = { ...base, listen: { addresses: ["127.0.0.1", "10.119.98.2"], port: 8300 }, calledAt: { address: "10.119.98.2", port: 8300 } };

    it("take requests signed for loopback or the link address, and none for a public one", () => {
        assert.deepEqual(targetsOf(watchdog).sort(), ["10.119.98.2:8300", "127.0.0.1:8300", "localhost:8300"]);
        assert.equal(localAddressOf(watchdog), "127.0.0.1", "this host's own commands call loopback");
        assert.equal(localAddressOf({ ...base, listen: { addresses: ["0.0.0.0"], port: 8300 } }), "127.0.0.1");
    });

    it("read an older program's single address as a list of one", () => {
        const older = { ...base, listen: { address: "0.0.0.0", port: 8300 } };
        assert.deepEqual(agentConfigSchema.parse(older).listen, { addresses: ["0.0.0.0"], port: 8300 });
        assert.deepEqual(agentConfigSchema.parse(watchdog).listen, watchdog.listen);
        assert.equal(agentConfigSchema.safeParse({ ...base, listen: { addresses: [], port: 8300 } }).success, false);
    });

    it(
        "serve loopback at once and the link's address as soon as it exists, in a network namespace of their own",
        { skip: spawnSync("unshare", ["--net", "true"]).status === 0 ? false : "needs unshare --net (root)" },
        () => {
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wirebot-listen-"));
            const script = path.join(dir, "listen.ts");
            fs.writeFileSync(
                script,
                `import { listenOn } from ${JSON.stringify(path.join(REPO, "agent/src/core/http"))};
async function main(): Promise<void> {
const servers = await listenOn((req, res) => res.end("from " + req.socket.localAddress), ["127.0.0.1", "10.254.1.1"], 18301, "test");
console.log("started with " + servers.length + " servers");
const ask = async (address: string) => (await fetch("http://" + address + ":18301/")).text();
console.log("loopback answers: " + (await ask("127.0.0.1")));
const deadline = Date.now() + 8000;
for (;;) {
    try { console.log("link answers: " + (await ask("10.254.1.1"))); break; } catch { if (Date.now() > deadline) { console.log("link never answered"); break; } }
    await new Promise((r) => setTimeout(r, 200));
}
process.exit(0);
}
void main();
`,
            );
            const node = path.join(REPO, "node_modules/.bin/node");
            const tsx = require.resolve("tsx", { paths: [REPO] });
            // The link's address appears two seconds after the agent started, as wg-quick would bring it up.
            const body = `ip link set lo up; ${node} --import ${tsx} ${script} & sleep 2; ip address add 10.254.1.1/32 dev lo; wait`;
            const result = spawnSync("unshare", ["--net", "sh", "-c", body], { encoding: "utf8", cwd: dir, timeout: 30_000 });
            const out = result.stdout + result.stderr;
            assert.match(out, /^test: cannot listen on 10\.254\.1\.1:18301 yet: no such address on this host \(the WireGuard link is not up\); listening on the others meanwhile, trying again every 2 s$/m);
            assert.match(out, /^started with 2 servers$/m);
            assert.match(out, /^loopback answers: from 127\.0\.0\.1$/m);
            assert.match(out, /^test: listening on 10\.254\.1\.1:18301 now$/m);
            assert.match(out, /^link answers: from 10\.254\.1\.1$/m);
        },
    );
});
