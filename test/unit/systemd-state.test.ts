import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { startedFromShow } from "../../assets/agent/src/systemd";

// What `systemctl show` says of a unit, and whether the agents count it as
// started (serving, for a connector).
const show = (active: string, inactiveExit: number, mainStart: number) =>
    `ActiveState=${active}\nInactiveExitTimestampMonotonic=${inactiveExit}\nExecMainStartTimestampMonotonic=${mainStart}\n`;

describe("a unit counts as started", () => {
    it("when active", () => assert.equal(startedFromShow(show("active", 100, 200)), true));
    it("when restarting after its main process ran: a connector retrying an unreachable edge still serves", () =>
        assert.equal(startedFromShow(show("activating", 100, 200)), true));
    it("not when its start was refused before the main process ran (the may-serve guard)", () =>
        assert.equal(startedFromShow(show("activating", 300, 200)), false));
    it("not when its main process never ran since boot", () => assert.equal(startedFromShow(show("activating", 100, 0)), false));
    it("not when stopped or failed", () => {
        assert.equal(startedFromShow(show("inactive", 100, 200)), false);
        assert.equal(startedFromShow(show("failed", 100, 200)), false);
    });
    it("reads the properties in any order", () =>
        assert.equal(startedFromShow("ExecMainStartTimestampMonotonic=5\nActiveState=activating\nInactiveExitTimestampMonotonic=4\n"), true));
});
