import { strict as assert } from "node:assert";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { DEFAULT_DRILL_SCHEDULE, SERVICE_NAMES } from "../../src/config/schema";
import { connectorUnit, HARDENING_EXCEPTIONS, renderServiceUnit, resolveServices, serviceHardening, UnitFile } from "../../src/render/service-units";
import { readAsset, renderTemplate } from "../../src/render/templates";

function allUnits(): UnitFile[] {
    const everyService = Object.fromEntries(SERVICE_NAMES.map((n) => [n, { enabled: true }]));
    return [
        ...resolveServices(everyService).map(renderServiceUnit),
        connectorUnit(),
        { unit: "wirebot-litestream.service", content: readAsset("systemd/wirebot-litestream.service") },
        { unit: "wirebot-replicator.service", content: renderTemplate("systemd/wirebot-replicator.service", { nodePath: "/usr/bin/node", linkUnit: "wg-quick@wirebot.service" }) },
        { unit: "wirebot-watchdog.service", content: renderTemplate("systemd/wirebot-watchdog.service", { nodePath: "/usr/bin/node", linkUnit: "wg-quick@wirebot.service" }) },
        { unit: "wirebot-file-sync.service", content: readAsset("systemd/wirebot-file-sync.service") },
        { unit: "wirebot-file-sync.timer", content: readAsset("systemd/wirebot-file-sync.timer") },
        { unit: "wirebot-letta-dump.service", content: readAsset("systemd/wirebot-letta-dump.service") },
        { unit: "wirebot-letta-dump.timer", content: readAsset("systemd/wirebot-letta-dump.timer") },
        { unit: "wirebot-fire-drill.service", content: renderTemplate("systemd/wirebot-fire-drill.service", { nodePath: "/usr/bin/node" }) },
        { unit: "wirebot-fire-drill.timer", content: renderTemplate("systemd/wirebot-fire-drill.timer", { schedule: DEFAULT_DRILL_SCHEDULE }) },
        { unit: "wirebot-metadata-guard.service", content: readAsset("systemd/wirebot-metadata-guard.service") },
        { unit: "wirebot-link-firewall.service", content: readAsset("systemd/wirebot-link-firewall.service") },
    ];
}

/** A root with the host's stock units and an executable at each ExecStart path, so verify checks our units alone. */
function verifyRoot(units: UnitFile[]): string {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "wirebot-units-"));
    fs.mkdirSync(path.join(root, "usr/lib/systemd"), { recursive: true });
    execFileSync("cp", ["-a", "/lib/systemd/system", path.join(root, "usr/lib/systemd/")]);
    fs.mkdirSync(path.join(root, "etc/systemd/system"), { recursive: true });
    for (const unit of units) {
        fs.writeFileSync(path.join(root, "etc/systemd/system", unit.unit), unit.content);
        for (const [, exec] of unit.content.matchAll(/^Exec\w+=[-+!@:]*(\S+)/gm)) {
            fs.mkdirSync(path.join(root, path.dirname(exec)), { recursive: true });
            fs.writeFileSync(path.join(root, exec), "#!/bin/sh\n", { mode: 0o755 });
        }
    }
    return root;
}

describe("systemd units", () => {
    const units = allUnits();

    for (const unit of units) {
        it(`${unit.unit} passes systemd-analyze verify without warnings`, () => {
            const root = verifyRoot(units);
            const result = spawnSync("systemd-analyze", ["verify", `--root=${root}`, `/etc/systemd/system/${unit.unit}`], { encoding: "utf8" });
            assert.equal(result.error, undefined, "systemd-analyze must be installed (Debian package systemd)");
            assert.equal(result.status, 0, result.stderr);
            assert.equal(result.stderr.trim(), "", `warnings:\n${result.stderr}`);
            fs.rmSync(root, { recursive: true, force: true });
        });
    }

    it("sandboxes every service but Letta's podman", () => {
        for (const unit of units.filter((u) => u.unit.endsWith(".service"))) {
            if (unit.unit === "letta-wirebot.service") {
                assert.ok(!unit.content.includes("ProtectSystem"), "podman needs its own namespaces");
                continue;
            }
            for (const directive of ["NoNewPrivileges=yes", "PrivateTmp=yes", "ProtectKernelModules=yes"]) {
                assert.ok(unit.content.includes(directive), `${unit.unit} lacks ${directive}`);
            }
        }
    });

    describe("per-service hardening", () => {
        const hardening = readAsset("systemd/hardening.conf").trim().split("\n");
        const everyService = resolveServices(Object.fromEntries(SERVICE_NAMES.map((n) => [n, { enabled: true }])));
        const unitOf = (name: string) => renderServiceUnit(everyService.find((s) => s.name === name)!).content;
        const directiveLines = (content: string) => content.split("\n").filter((line) => /^[A-Z]\w*=/.test(line));

        it("leaves RestrictSUIDSGID out of the gateway's unit: its seccomp filter makes openat2 fail with ENOSYS, and OpenClaw's gateway lock needs openat2", () => {
            const gateway = unitOf("gateway");
            assert.doesNotMatch(gateway, /^RestrictSUIDSGID=/m);
            assert.match(gateway, /^# RestrictSUIDSGID= is left out for gateway:$/m, "says why in the unit");
            assert.match(gateway, /^#.*openat2\(\) fail with ENOSYS/m);
            assert.match(gateway, /^#.*os error 38/m, "quotes the gateway's error, so an operator who saw it finds this");
        });

        it("keeps every other directive of hardening.conf in the gateway's unit", () => {
            const lines = directiveLines(unitOf("gateway"));
            for (const directive of hardening.filter((line) => !line.startsWith("RestrictSUIDSGID="))) {
                assert.ok(lines.includes(directive), `the gateway's unit lacks ${directive}`);
            }
            assert.ok(lines.includes("NoNewPrivileges=yes"), "set-uid bits still grant the gateway nothing");
        });

        it("keeps all of hardening.conf, RestrictSUIDSGID included, for the other sandboxed services", () => {
            for (const name of SERVICE_NAMES.filter((n) => n !== "gateway" && n !== "letta")) {
                const lines = directiveLines(unitOf(name));
                for (const directive of hardening) assert.ok(lines.includes(directive), `${name}'s unit lacks ${directive}`);
                assert.doesNotMatch(unitOf(name), /is left out/, `${name} has no exceptions`);
            }
        });

        it("names only directives that hardening.conf has, so a renamed directive cannot silently come back", () => {
            const known = new Set(hardening.map((line) => line.split("=")[0]));
            for (const [name, exceptions] of Object.entries(HARDENING_EXCEPTIONS)) {
                for (const directive of Object.keys(exceptions ?? {})) assert.ok(known.has(directive), `${name}: ${directive}`);
            }
        });

        it("applies to the gateway whatever program the operator runs as it", () => {
            const [gateway] = resolveServices({ gateway: { execStart: "/usr/bin/openclaw gateway --port 18789 --allow-unconfigured --auth none --bind loopback" } });
            assert.doesNotMatch(renderServiceUnit(gateway).content, /^RestrictSUIDSGID=/m);
            assert.equal(serviceHardening("letta"), "", "Letta's podman stays unsandboxed");
        });
    });

    it("schedules the fire drill on the first Sunday of each month at 03:00 Pacific", () => {
        const out = execFileSync("systemd-analyze", ["calendar", "--iterations=12", DEFAULT_DRILL_SCHEDULE], { encoding: "utf8", env: { ...process.env, TZ: "America/Los_Angeles" } });
        const elapses = [...out.matchAll(/(?:Next elapse|Iter\. #\d+): (\w+) (\d{4})-(\d{2})-(\d{2}) (\d{2}:\d{2}:\d{2})/g)];
        assert.equal(elapses.length, 12, out);
        const months = new Set<string>();
        for (const [, weekday, year, month, day, time] of elapses) {
            assert.equal(weekday, "Sun");
            assert.ok(Number(day) <= 7, `day ${day} is not in the first week`);
            assert.equal(time, "03:00:00", "in Pacific time, across daylight saving changes");
            months.add(`${year}-${month}`);
        }
        assert.equal(months.size, 12, "once a month");
    });

    it("renders 001's default services with their ports and users", () => {
        const [gateway, scoreboard] = resolveServices({}).map(renderServiceUnit);
        assert.equal(resolveServices({}).length, 2, "gateway and scoreboard by default; mem0, memory-syncd and Letta are optional");
        assert.match(gateway.content, /^ExecStart=\/usr\/bin\/openclaw gateway --port 18789$/m);
        assert.match(gateway.content, /^User=wirebot$/m);
        assert.match(scoreboard.content, /^Description=Wirebot scoreboard \(:8100\)$/m);
    });

    it("applies the operator's overrides", () => {
        const units = resolveServices({ gateway: { execStart: "/opt/lab/gateway.py", environmentFile: "/etc/wirebot/gateway.env" }, mem0: { enabled: true } });
        assert.deepEqual(units.map((u) => u.unit), ["openclaw-gateway.service", "wirebot-scoreboard.service", "mem0-wirebot.service"]);
        const gateway = renderServiceUnit(units[0]).content;
        assert.match(gateway, /^ExecStart=\/opt\/lab\/gateway.py$/m);
        assert.match(gateway, /^EnvironmentFile=-\/etc\/wirebot\/gateway.env$/m);
    });

    it("keeps a '%' in a command literal: systemd would expand it as a specifier", () => {
        const [gateway] = resolveServices({ gateway: { execStart: "/usr/bin/openclaw gateway --log /var/log/gw-%Y.log --port 18789" } });
        assert.match(renderServiceUnit(gateway).content, /^ExecStart=\/usr\/bin\/openclaw gateway --log \/var\/log\/gw-%%Y\.log --port 18789$/m);
    });

    it("starts the connector from the local config and its credentials only", () => {
        const connector = connectorUnit().content;
        assert.match(connector, /^ExecStart=\/usr\/local\/bin\/cloudflared --no-autoupdate --config \/etc\/cloudflared\/wirebot.yml tunnel run$/m);
        assert.ok(!/token/i.test(connector), "no secret on the command line");
    });
});
