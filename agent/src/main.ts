import { activate, ActivationRefused, deactivate } from "./takeover/activation";
import { AgentConfigError, loadConfig } from "./core/config";
import { callLocalAgent } from "./core/local-call";
import { drillSummary, runDrill } from "./drill/drill";
import { flip, FlipRefused } from "./takeover/flip";
import { mayServe } from "./heartbeat/may-serve";
import { runReplicator } from "./replication/replicator";
import { hostStatus } from "./core/status";
import { runWatchdog } from "./heartbeat/watchdog";

const USAGE = `usage: wirebot-failover <command>

commands:
  status [--json]
               print this host's side of the failover as JSON (always JSON; --json
               is accepted for scripts): role, units, serving, heartbeat age; on the
               primary replication lag per database, file sync, Letta dump, last
               drill; on the standby the takeover record, activation, handback
  replicator   run the primary's agent (heartbeats, status API)
  watchdog     run the standby's agent (heartbeat receiver, miss counter, takeover)
  activate [--force]  take over on this host: restore, services, connector
  deactivate   stop serving on this host: connector, then services
  flip serve|stand-down
               converge this host to the active side the stack config names
               (run by pulumi up's serving step); refuses an unsafe order
  may-serve [unit]
               exit 0 if this host may start its connector or a service: on the
               primary, a signed claim the standby refuses while it serves or
               is taking over
  drill        run the fire drill now (on the primary): switch over to the standby
               and back, with checks on both sides; log in /var/log/wirebot/fire-drill.log
  trigger-sync ask the local replicator for a full file sync now (signed request)

config: $WIREBOT_AGENT_CONFIG or /etc/wirebot/agent.json`;

async function main(argv: string[]): Promise<number> {
    const command = argv[0];
    if (command === undefined || command === "--help" || command === "-h" || command === "help") {
        process.stdout.write(USAGE + "\n");
        return command === undefined ? 2 : 0;
    }
    switch (command) {
        case "status":
            process.stdout.write(JSON.stringify(hostStatus(loadConfig()), null, 2) + "\n");
            return 0;
        case "activate": {
            const takeover = await activate(loadConfig(), "operator", argv.includes("--force"));
            process.stdout.write(JSON.stringify(takeover, null, 2) + "\n");
            return 0;
        }
        case "deactivate":
            process.stdout.write(JSON.stringify(await deactivate(loadConfig()), null, 2) + "\n");
            return 0;
        case "flip": {
            const direction = argv[1];
            if (direction !== "serve" && direction !== "stand-down") {
                process.stderr.write("usage: wirebot-failover flip serve|stand-down\n");
                return 2;
            }
            process.stdout.write(`wirebot-failover: ${await flip(loadConfig(), direction)}\n`);
            return 0;
        }
        case "may-serve": {
            const verdict = await mayServe(loadConfig(), argv[1]);
            (verdict.ok ? process.stdout : process.stderr).write(`wirebot-failover: ${verdict.reason}\n`);
            return verdict.ok ? 0 : 1;
        }
        case "drill": {
            const report = await runDrill(loadConfig());
            process.stdout.write(drillSummary(report) + "\n");
            return report.ok ? 0 : 1;
        }
        case "trigger-sync": {
            const answer = await callLocalAgent(loadConfig(), "/trigger-sync");
            process.stdout.write(JSON.stringify(answer, null, 2) + "\n");
            return 0;
        }
        case "replicator":
            await runReplicator(loadConfig());
            return -1;
        case "watchdog":
            await runWatchdog(loadConfig());
            return -1;
        default:
            process.stderr.write(`wirebot-failover: unknown command ${command}\n${USAGE}\n`);
            return 2;
    }
}

main(process.argv.slice(2)).then(
    (code) => {
        // Long-running commands keep the process alive through their servers.
        if (code >= 0) process.exit(code);
    },
    (err: Error) => {
        const known = err instanceof AgentConfigError || err instanceof ActivationRefused || err instanceof FlipRefused;
        process.stderr.write(`wirebot-failover: ${known ? err.message : err.stack ?? err.message}\n`);
        process.exit(1);
    },
);
