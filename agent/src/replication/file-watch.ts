import * as fs from "node:fs";
import * as path from "node:path";

/**
 * Watches directory trees for any change, calling `onChange` with no detail:
 * the sync that follows is rsync's diff of the whole set, so only the fact of a
 * change matters. Node's recursive watch is unavailable on Linux before Node 20,
 * so every directory gets its own inotify watch, and new directories are added
 * as they appear. A path that does not exist yet is watched from its nearest
 * existing parent.
 */
export class TreeWatcher {
    private readonly watchers = new Map<string, fs.FSWatcher>();

    constructor(
        private readonly roots: string[],
        private readonly onChange: (where: string) => void,
        private readonly onError: (message: string) => void = () => undefined,
    ) {}

    start(): void {
        for (const root of this.roots) this.watchRoot(root);
    }

    close(): void {
        for (const watcher of this.watchers.values()) watcher.close();
        this.watchers.clear();
    }

    get watchedDirectories(): number {
        return this.watchers.size;
    }

    private watchRoot(root: string, appeared = false): void {
        if (!fs.existsSync(root)) {
            this.addDirectory(nearestExisting(root));
            return;
        }
        if (appeared && !this.watchers.has(root)) this.onChange(root);
        this.addTree(root);
    }

    private addTree(dir: string): void {
        let stat: fs.Stats;
        try {
            stat = fs.lstatSync(dir);
        } catch {
            return;
        }
        if (!stat.isDirectory()) {
            this.addDirectory(path.dirname(dir));
            return;
        }
        this.addDirectory(dir);
        let entries: fs.Dirent[] = [];
        try {
            entries = fs.readdirSync(dir, { withFileTypes: true });
        } catch (err) {
            this.onError(`cannot list ${dir}: ${(err as Error).message}`);
        }
        for (const entry of entries) if (entry.isDirectory()) this.addTree(path.join(dir, entry.name));
    }

    private addDirectory(dir: string): void {
        if (this.watchers.has(dir)) return;
        try {
            const watcher = fs.watch(dir, { persistent: true }, (_event, name) => {
                const where = name ? path.join(dir, name.toString()) : dir;
                if (this.relevant(where)) {
                    this.onChange(where);
                    // A new directory gets its own watch.
                    if (name) this.addTree(where);
                } else if (name) {
                    // Something appeared on the way to a root that did not exist yet.
                    for (const root of this.roots) if (root.startsWith(where + path.sep)) this.watchRoot(root, true);
                }
            });
            watcher.on("error", () => {
                watcher.close();
                this.watchers.delete(dir);
            });
            this.watchers.set(dir, watcher);
        } catch (err) {
            this.onError(`cannot watch ${dir}: ${(err as Error).message}`);
        }
    }

    /** Only changes inside a root count: a parent is watched only to see a root appear. */
    private relevant(where: string): boolean {
        return this.roots.some((root) => where === root || where.startsWith(root + path.sep));
    }
}

function nearestExisting(p: string): string {
    let dir = path.dirname(p);
    while (!fs.existsSync(dir) && dir !== path.dirname(dir)) dir = path.dirname(dir);
    return dir;
}
