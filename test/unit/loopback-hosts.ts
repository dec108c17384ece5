import { ChildProcess, spawn, spawnSync, SpawnSyncReturns } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { TestContext } from "node:test";
import { buildAgentBundle } from "../../agent/build";
import type { AgentConfig } from "../../agent/contract";
import { HOST_DIR } from "../../src/render/templates";
import { freePort, loopbackAgentConfig } from "./loopback-agent";

// A primary and a standby on this machine, each running the bundled agent in a
// mount namespace of its own: its data directory is bound over the one path both
// configs name (as on two hosts), its host commands over /usr/local/sbin (the
// real wirebot-merge and wirebot-restore, or stand-ins), and systemctl is a
// stand-in on PATH that keeps unit states in files (test/unit/fakes/systemctl).

export type SideName = "primary" | "standby";

const FAKES = path.join(__dirname, "fakes");
export const SERVICE = "wirebot-scoreboard.service";
export const CONNECTOR = "cloudflared-wirebot.service";
const TOKEN = "p".repeat(48);

export interface Side {
    config: AgentConfig;
    configFile: string;
    /** The stand-in systemctl's unit states. */
    systemd: string;
    /** Bound over /usr/local/sbin. */
    sbin: string;
    /** Bound over the shared data path. */
    data: string;
}

export interface Mount {
    target: string;
    /** Bind this directory; without it, a tmpfs of `size` is mounted. */
    source?: string;
    size?: string;
}

export class LoopbackPair {
    readonly dir: string;
    readonly bundle: string;
    /** The data path both configs name; each side sees its own directory there. */
    readonly data: string;
    /** The standby's sync directory, where its outbox lives. */
    readonly standbySync: string;
    readonly primary: Side;
    readonly standby: Side;
    private watchdog: ChildProcess | undefined;
    watchdogLog = "";

    private constructor(dir: string, bundle: string, primaryPort: number, standbyPort: number) {
        this.dir = dir;
        this.bundle = bundle;
        this.data = path.join(dir, "data");
        this.standbySync = path.join(dir, "standby", "sync");
        fs.mkdirSync(this.data);
        fs.writeFileSync(path.join(dir, "token"), TOKEN, { mode: 0o600 });
        this.primary = this.side("primary", primaryPort, standbyPort);
        this.standby = this.side("standby", standbyPort, primaryPort);
        this.install("primary", "wirebot-merge", path.join(HOST_DIR, "bin", "wirebot-merge"));
        this.install("primary", "wirebot-file-sync", path.join(FAKES, "wirebot-file-sync"));
        this.install("standby", "wirebot-restore", path.join(HOST_DIR, "bin", "wirebot-restore"));
        this.script("standby", "wirebot-place-files", 'echo "placed 0 synced path(s)"');
    }

    static async create(bundle = buildAgentBundle()): Promise<LoopbackPair> {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wirebot-pair-"));
        const file = path.join(dir, "wirebot-agent.js");
        fs.writeFileSync(file, bundle, { mode: 0o755 });
        return new LoopbackPair(dir, file, await freePort(), await freePort());
    }

    private side(name: SideName, listen: number, peer: number): Side {
        const root = path.join(this.dir, name);
        const base = loopbackAgentConfig(this.dir, name, name, listen, peer);
        const config: AgentConfig = {
            ...base,
            units: { services: [SERVICE], connector: CONNECTOR },
            databases: [{ path: path.join(this.data, "events.db"), replica: path.join(this.dir, "replica", "events.db") }],
            tenantsDir: path.join(this.data, "tenants"),
            fileSync: { paths: [], debounceSeconds: 5, stagingDir: path.join(this.standbySync, "files"), outboxDir: path.join(this.standbySync, "outbox") },
        };
        const side: Side = { config, configFile: path.join(this.dir, `${name}.json`), systemd: path.join(root, "systemd"), sbin: path.join(root, "sbin"), data: path.join(root, "data") };
        for (const d of [side.systemd, side.sbin, side.data, this.standbySync]) fs.mkdirSync(d, { recursive: true });
        fs.writeFileSync(side.configFile, JSON.stringify(config));
        return side;
    }

    /** Changes a side's agent config (its file is what the next run reads). */
    configure(name: SideName, patch: Partial<AgentConfig>): void {
        Object.assign(this[name].config, patch);
        fs.writeFileSync(this[name].configFile, JSON.stringify(this[name].config));
    }

    /** Puts a host command in place on one side (a copy of the real script or of a stand-in), as the program installs it: 0755. */
    install(name: SideName, command: string, file: string): void {
        const target = path.join(this[name].sbin, command);
        fs.rmSync(target, { force: true });
        fs.copyFileSync(file, target);
        fs.chmodSync(target, 0o755);
    }

    /** A stand-in host command: a shell script body. */
    script(name: SideName, command: string, body: string): void {
        const target = path.join(this[name].sbin, command);
        fs.rmSync(target, { force: true });
        fs.writeFileSync(target, `#!/bin/sh\nset -eu\n${body}\n`, { mode: 0o755 });
    }

    /** Sets a unit's state in a side's stand-in systemd. */
    unit(name: SideName, unit: string, active: boolean): void {
        fs.writeFileSync(path.join(this[name].systemd, `${unit}.active`), active ? "active\n" : "inactive\n");
        fs.writeFileSync(path.join(this[name].systemd, `${unit}.enabled`), active ? "enabled\n" : "disabled\n");
    }

    isActive(name: SideName, unit: string): boolean {
        try {
            return fs.readFileSync(path.join(this[name].systemd, `${unit}.active`), "utf8").trim() === "active";
        } catch {
            return false;
        }
    }

    /** systemctl calls made on a side, one line each. */
    systemctlCalls(name: SideName): string[] {
        try {
            return fs.readFileSync(path.join(this[name].systemd, "calls"), "utf8").split("\n").filter(Boolean);
        } catch {
            return [];
        }
    }

    /** Runs SQL on a side's database (a path relative to its data directory). */
    sql(name: SideName, file: string, statement: string): string {
        const db = path.join(this[name].data, file);
        fs.mkdirSync(path.dirname(db), { recursive: true });
        const r = spawnSync("sqlite3", ["-bail", db], { input: statement, encoding: "utf8" });
        if (r.status !== 0) throw new Error(`sqlite3 ${db}: ${r.stderr}`);
        return r.stdout.trim();
    }

    stateFile<T>(name: SideName, file: string): T | null {
        try {
            return JSON.parse(fs.readFileSync(path.join(this[name].config.stateDir, file), "utf8")) as T;
        } catch {
            return null;
        }
    }

    writeStateFile(name: SideName, file: string, value: unknown): void {
        fs.mkdirSync(this[name].config.stateDir, { recursive: true });
        fs.writeFileSync(path.join(this[name].config.stateDir, file), JSON.stringify(value));
    }

    private env(name: SideName, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
        return {
            ...process.env,
            PATH: `${FAKES}:${process.env.PATH}`,
            WIREBOT_AGENT_CONFIG: this[name].configFile,
            FAKE_SYSTEMD_DIR: this[name].systemd,
            FAKE_STANDBY_SYNC_DIR: this.standbySync,
            WIREBOT_DATA_OWNER: "root",
            ...extra,
        };
    }

    private namespaced(name: SideName, argv: string[], mounts: Mount[]): [string, string[]] {
        const all: Mount[] = [{ target: "/usr/local/sbin", source: this[name].sbin }, { target: this.data, source: this[name].data }, { target: "/var/log", size: "8m" }, ...mounts];
        const lines = all.map((m) => (m.source ? `mount --bind '${m.source}' '${m.target}'` : `mount -t tmpfs -o size=${m.size} tmpfs '${m.target}'`));
        return ["unshare", ["--mount", "--propagation", "private", "sh", "-c", `set -e\n${lines.join("\n")}\nexec "$@"`, "sh", process.execPath, this.bundle, ...argv]];
    }

    /** Runs an agent command on a side, as its operator or its serving step would. */
    run(name: SideName, argv: string[], options: { env?: Record<string, string>; mounts?: Mount[]; timeoutMs?: number } = {}): SpawnSyncReturns<string> & { output: string } {
        const [command, args] = this.namespaced(name, argv, options.mounts ?? []);
        const r = spawnSync(command, args, { env: this.env(name, options.env), encoding: "utf8", timeout: options.timeoutMs ?? 30_000 });
        return Object.assign(r, { output: `${r.stdout}${r.stderr}` });
    }

    /** Starts the standby's watchdog (its takeover API); stopping and starting it again is what a crash and a restart look like. */
    async startWatchdog(mounts: Mount[] = []): Promise<void> {
        await this.stopWatchdog();
        const [command, args] = this.namespaced("standby", ["watchdog"], mounts);
        const child = spawn(command, args, { env: this.env("standby"), stdio: ["ignore", "pipe", "pipe"] });
        this.watchdog = child;
        const started = this.watchdogLog.length;
        child.stdout!.on("data", (d) => (this.watchdogLog += d));
        child.stderr!.on("data", (d) => (this.watchdogLog += d));
        const deadline = Date.now() + 8000;
        while (!this.watchdogLog.slice(started).includes("expecting heartbeats")) {
            if (Date.now() > deadline || exited(child)) throw new Error(`the watchdog did not start: ${this.watchdogLog}`);
            await new Promise((r) => setTimeout(r, 50));
        }
    }

    async stopWatchdog(): Promise<void> {
        const child = this.watchdog;
        if (!child || exited(child)) return;
        const gone = new Promise((r) => child.once("exit", r));
        child.kill("SIGKILL");
        await gone;
    }
}

/** Both sides' event tables as they were at the takeover; the standby then served and took `written`. */
export function standbyServed(pair: LoopbackPair, written: string[]): void {
    const events = "CREATE TABLE events (id TEXT PRIMARY KEY, kind TEXT);";
    for (const side of ["primary", "standby"] as const) pair.sql(side, "events.db", `PRAGMA journal_mode=WAL; ${events} INSERT INTO events VALUES ('before', 'signup');`);
    pair.sql("standby", "events.db", written.map((id) => `INSERT INTO events VALUES ('${id}', 'standby');`).join(" "));
    pair.unit("standby", SERVICE, true);
    pair.unit("standby", CONNECTOR, true);
    pair.writeStateFile("standby", "takeover.json", { at: new Date().toISOString(), reason: "test", timeline: [], automatic: false, planned: true, acknowledged: true });
}

/** The event ids in a side's events.db. */
export const eventIds = (pair: LoopbackPair, side: SideName) => pair.sql(side, "events.db", "SELECT id FROM events ORDER BY id;").split("\n").filter(Boolean);

/** For a test: a primary and a standby of its own, the standby's agent running until the test ends. */
export async function pairFor(t: TestContext, bundle: string): Promise<LoopbackPair> {
    const pair = await LoopbackPair.create(bundle);
    t.after(() => pair.stopWatchdog());
    await pair.startWatchdog();
    return pair;
}

const exited = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null;
