import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { commandParallelism, mapBounded } from "../../agent/src/core/bounded";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("mapBounded: many host commands at once, bounded", () => {
    it("keeps the items' order and never runs more than the limit at once", async () => {
        let running = 0;
        let most = 0;
        const out = await mapBounded([30, 5, 20, 1, 10, 2, 15], 3, async (ms) => {
            running += 1;
            most = Math.max(most, running);
            await sleep(ms);
            running -= 1;
            return ms * 2;
        });
        assert.deepEqual(out, [60, 10, 40, 2, 20, 4, 30]);
        assert.equal(most, 3);
    });

    it("stops starting new work at the first failure and throws it once the runs already started have ended", async () => {
        const started: number[] = [];
        const ended: number[] = [];
        await assert.rejects(
            mapBounded([1, 2, 3, 4, 5, 6], 2, async (n) => {
                started.push(n);
                await sleep(n === 2 ? 5 : 30);
                ended.push(n);
                if (n === 2) throw new Error("item 2 failed");
                return n;
            }),
            /item 2 failed/,
        );
        assert.deepEqual(started, [1, 2], "nothing started after item 2 failed, though item 1 still ran");
        assert.deepEqual([...ended].sort(), [1, 2], "item 1 ended before the failure was thrown");
    });

    it("returns nothing for no items and takes a limit of at least one", async () => {
        assert.deepEqual(await mapBounded([], 4, async () => 1), []);
        assert.deepEqual(await mapBounded([1, 2], 0, async (n) => n), [1, 2]);
        assert.ok(commandParallelism() >= 1 && commandParallelism() <= 8);
    });
});
