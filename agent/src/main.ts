import { activate, ActivationRefused, deactivate } from "./takeover/activation";
import { AgentConfigError, loadConfig } from "./core/config";
import { callLocalAgent } from "./core/local-call";
import { OutOfTime } from "./core/deadline";
import { NotEnoughSpace } from "./core/disk-space";
import { StandbyRefused } from "./takeover/handover";
import { ManifestRefused } from "./takeover/manifest-check";
import { Unreachable, UntrustedAnswer } from "./heartbeat/signed-call";
import { drillSummary, runDrill } from "./drill/drill";
import { forgetStandby } from "./takeover/failback";
import { flip, FlipRefused } from "./takeover/flip";
import { ServedWithDebt } from "./takeover/refusals";
import { FLIP_SERVED_WITH_DEBT } from "../contract";
import { handBack, keepExport } from "./takeover/handback";
import { mayServe } from "./heartbeat/may-serve";
import { runReplicator } from "./replication/replicator";
import { hostStatus } from "./core/status";
import { grantOverride, OVERRIDE_MINUTES } from "./heartbeat/serve-override";
import type { AgentConfig } from "../contract";
import { runWatchdog } from "./heartbeat/watchdog";

const USAGE = `usage: wirebot-failover <command>

commands:
  status [--json]
               print this host's side of the failover as JSON (always JSON; --json
               is accepted for scripts): role, units, serving, heartbeat age; on the
               primary replication lag per database, file sync, Letta dump, last
               drill, last merge, a reseed owed, forget-standby and override-serve
               in force; on the standby the takeover record, activation, the
               hand-back's state, kept exports, the primary's clock offset
  replicator   run the primary's agent (heartbeats, status API)
  watchdog     run the standby's agent (heartbeat receiver, miss counter, takeover)
  activate [--force]  take over on this host: restore, services, connector
  deactivate   stop serving on this host: connector, then services; on the
               standby, with a copy of its databases for the primary to merge
  flip serve|stand-down
               converge this host to the active side the stack config names
               (run by pulumi up's serving step); refuses an unsafe order
  may-serve [unit]
               exit 0 if this host may start its connector or a service: on the
               primary, a signed claim the standby refuses while it serves or
               is taking over
  keep-export  on the standby, when the primary cannot take its unmerged export:
               set it aside for a merge by hand, so the standby may take over
  forget-standby
               on the primary, when the standby is lost for good: the next
               failback flip serves without the standby's writes (it still needs
               the witness's or override-serve's word that the standby does not serve)
  override-serve [minutes]
               on the primary: let may-serve and the failback flip start this host
               although neither the standby nor the witness can say whether the
               standby serves (default 15 minutes); only when you know it does not
  drill        run the fire drill now (on the primary): switch over to the standby
               and back, with checks on both sides; log in /var/log/wirebot/fire-drill.log
  trigger-sync ask the local replicator for a full file sync now (signed request)

config: $WIREBOT_AGENT_CONFIG or /etc/wirebot/agent.json`;

function overrideServe(config: AgentConfig, minutesArg: string | undefined): string {
    if (config.role !== "primary") throw new AgentConfigError("override-serve is for the primary; the standby is activated with wirebot-failover activate --force");
    const minutes = minutesArg === undefined ? OVERRIDE_MINUTES : Number(minutesArg);
    if (!Number.isInteger(minutes) || minutes < 1 || minutes > 240) throw new AgentConfigError(`override-serve takes whole minutes from 1 to 240, not ${minutesArg}`);
    const until = grantOverride(config, minutes, Date.now());
    return `until ${until}, this host starts its services and connector without the standby's or the witness's yes; start them now (systemctl start, or pulumi up -s primary)`;
}

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
        case "deactivate": {
            // On the standby, stopping hands back what it wrote, as the primary's failback asks it to.
            const config = loadConfig();
            const result = config.role === "standby" ? await handBack(config) : await deactivate(config);
            process.stdout.write(JSON.stringify(result, null, 2) + "\n");
            return 0;
        }
        case "keep-export":
            process.stdout.write(`wirebot-failover: ${await keepExport(loadConfig())}\n`);
            return 0;
        case "forget-standby":
            process.stdout.write(`wirebot-failover: ${forgetStandby(loadConfig())}\n`);
            return 0;
        case "flip": {
            const direction = argv[1];
            if (direction !== "serve" && direction !== "stand-down") {
                process.stderr.write("usage: wirebot-failover flip serve|stand-down\n");
                return 2;
            }
            try {
                process.stdout.write(`wirebot-failover: ${await flip(loadConfig(), direction)}\n`);
                return 0;
            } catch (err) {
                if (!(err instanceof ServedWithDebt)) throw err;
                process.stderr.write(`wirebot-failover: ${err.message}\n`);
                return FLIP_SERVED_WITH_DEBT;
            }
        }
        case "may-serve": {
            const verdict = await mayServe(loadConfig(), argv[1]);
            (verdict.ok ? process.stdout : process.stderr).write(`wirebot-failover: ${verdict.reason}\n`);
            return verdict.ok ? 0 : 1;
        }
        case "override-serve":
            process.stdout.write(`wirebot-failover: ${overrideServe(loadConfig(), argv[1])}\n`);
            return 0;
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
        const known = err instanceof AgentConfigError || err instanceof ActivationRefused || err instanceof FlipRefused || err instanceof OutOfTime || err instanceof StandbyRefused || err instanceof NotEnoughSpace ||
            err instanceof UntrustedAnswer || err instanceof Unreachable || err instanceof ManifestRefused;
        process.stderr.write(`wirebot-failover: ${known ? err.message : err.stack ?? err.message}\n`);
        process.exit(1);
    },
);
