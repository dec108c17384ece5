import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { ConfigError } from "../../src/config/settings";
import type { HostKeyCheck, HostKeyPin } from "../../src/host/host-key-check";
import type { SshHost } from "../../src/host/ssh-host";
import { existingStandbyOptions, PRIMARY_HOST_KEY, primaryOptions, standbyOptions, STANDBY_HOST_KEY } from "./fixtures";
import { failureOf, RunOptions, runProgram } from "./harness";

// The stacks compare each host's key with the pinned one before they register
// anything for it; the scan itself is host-key-check.test.ts's, here a stand-in records it.

interface Checked {
    name: string;
    address: unknown;
    port: number;
    hostKey: unknown;
    pin: HostKeyPin;
}

function recordingCheck(): { calls: Checked[]; check: HostKeyCheck } {
    const calls: Checked[] = [];
    const check: HostKeyCheck = async (host: SshHost, pin) => {
        calls.push({ name: host.name, address: host.address, port: host.port, hostKey: host.hostKey, pin });
    };
    return { calls, check };
}

const refusing: HostKeyCheck = async (host) => {
    throw new ConfigError([`the ${host.name} host presents another SSH host key`]);
};

const withCheck = (options: RunOptions, checkHostKey: HostKeyCheck): RunOptions => ({ ...options, checkHostKey });

describe("the host key pre-flight", () => {
    it("checks the primary on the primary stack against wirebot:primary.hostKey", async () => {
        const { calls, check } = recordingCheck();
        await runProgram(withCheck(primaryOptions(), check));
        assert.deepEqual(calls, [
            { name: "primary", address: "203.0.113.10", port: 22, hostKey: PRIMARY_HOST_KEY, pin: { key: "wirebot:primary.hostKey", stack: "primary" } },
        ]);
    });

    it("checks the primary as the primary stack exports it and the existing standby on the standby stack", async () => {
        const { calls, check } = recordingCheck();
        await runProgram(withCheck(existingStandbyOptions(), check));
        assert.deepEqual(calls, [
            {
                name: "primary",
                address: "203.0.113.10",
                port: 22,
                hostKey: PRIMARY_HOST_KEY,
                pin: { key: "wirebot:primary.hostKey", stack: "organization/wirebot-failover/primary", readFromOutputs: true },
            },
            { name: "standby", address: "10.77.0.11", port: 22, hostKey: STANDBY_HOST_KEY, pin: { key: "wirebot:standby.existing.hostKey", stack: "standby" } },
        ]);
    });

    it("checks only the primary when the standby is a Hetzner server whose key the stack generates", async () => {
        const { calls, check } = recordingCheck();
        await runProgram(withCheck(standbyOptions(), check));
        assert.deepEqual(calls.map((c) => c.name), ["primary"]);
    });

    for (const [stack, options] of [
        ["primary", primaryOptions()],
        ["standby (existing host)", existingStandbyOptions()],
        ["standby (Hetzner)", standbyOptions()],
    ] as const) {
        it(`fails the ${stack} stack before it registers any resource when a host's key is refused`, async () => {
            const { message, registered } = await failureOf(withCheck(options, refusing));
            assert.match(message, /^invalid configuration:\n {2}the primary host presents another SSH host key$/);
            assert.deepEqual(registered.filter((r) => r.type !== "pulumi:pulumi:StackReference").map((r) => r.name), []);
        });
    }

    it("fails the standby stack before it registers any resource when only the standby's key is refused", async () => {
        const standbyRefused: HostKeyCheck = (host, pin) => (host.name === "standby" ? refusing(host, pin) : Promise.resolve());
        const { message, registered } = await failureOf(withCheck(existingStandbyOptions(), standbyRefused));
        assert.match(message, /the standby host presents another SSH host key/);
        assert.deepEqual(registered.filter((r) => r.type !== "pulumi:pulumi:StackReference").map((r) => r.name), []);
    });
});
