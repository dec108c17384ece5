import * as os from "node:os";

/** How many host commands a step runs at once: twice the CPUs, at most 8 (as wirebot-restore). */
export function commandParallelism(): number {
    return Math.min(8, Math.max(1, os.availableParallelism() * 2));
}

/**
 * Runs `work` on every item, at most `limit` at once, and returns the results
 * in the items' order. The first failure stops new starts; it is thrown once
 * the runs already started have ended, so nothing is left running behind it.
 */
export async function mapBounded<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
    const results: R[] = new Array(items.length);
    let next = 0;
    let failure: { error: unknown } | null = null;
    const worker = async () => {
        while (failure === null && next < items.length) {
            const i = next++;
            try {
                results[i] = await work(items[i]);
            } catch (error) {
                failure ??= { error };
            }
        }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
    if (failure !== null) throw (failure as { error: unknown }).error;
    return results;
}
