import { spawnSync } from "node:child_process";
import { engineEnv, outputs, projectDir, pulumi, STACKS } from "./engine";
import { HOSTS_SCRIPT, hosts, labEnv } from "./lab";
import { converge, Sampler, witness } from "./runtime-harness";

// npm run lab -- <command>
//   up                 boot both hosts, then pulumi up the primary, standby and tenant-lab stacks
//   down               pulumi destroy the stacks (tenant, standby, primary), then stop the hosts
//   pulumi <args...>   any pulumi command against the lab's stacks (e.g. pulumi up -s primary)
//   env                the environment those pulumi commands run in, as shell exports
//   edge               run the edge double (the public hostnames' witness route, the alert
//                      webhook) in the foreground, as the tests do, until Ctrl-C
//   status | memory [host] | ssh <host> [cmd] | poweroff <host> | poweron <host> | partition | heal
//                      the hosts themselves (lab/hosts.sh)

const HEARTBEAT_SECONDS = 10;

async function labUp(): Promise<void> {
    hosts("up");
    const env = labEnv();
    await converge(env, HEARTBEAT_SECONDS, true);
    for (const stack of ["primary", "standby"] as const) {
        const out = await outputs(env, stack);
        console.log(`${stack}: active side ${out.activeSide}; ${stack === "primary" ? `endpoints ${(out.endpoints as string[]).join(", ")}` : `standby at ${out.standbyAddress}`}`);
        console.log(`  next: ${out.nextCommand}`);
    }
    console.log(`Run pulumi against the lab's stacks with: npm run lab -- pulumi <args>   (project: ${projectDir(env)})`);
}

async function labDown(): Promise<void> {
    const env = labEnv();
    const running = hosts("status").includes("running");
    if (running) {
        for (const stack of [...STACKS].reverse()) {
            const r = await pulumi(env, ["destroy", "-s", stack, "--yes", "--skip-preview", "--suppress-progress"]);
            process.stderr.write(`[lab] pulumi destroy -s ${stack}: ${r.status === 0 ? `${(r.ms / 1000).toFixed(1)} s` : `failed\n${r.stdout}${r.stderr}`}\n`);
        }
    }
    hosts("down");
}

/** The edge double the tests run, for a lab brought up by hand: with it the standby's watchdog can tell that nobody serves. */
async function edge(): Promise<void> {
    const env = labEnv();
    const alerts: string[] = [];
    const sampler = new Sampler(env);
    const servers = await witness(env, sampler, alerts);
    console.log("edge double: https://helm.wirebot.chat (and the other public hostnames) on the bridge, alerts printed here; Ctrl-C stops it");
    let printed = 0;
    const timer = setInterval(() => {
        for (const alert of alerts.slice(printed)) console.log(`alert: ${alert}`);
        printed = alerts.length;
    }, 1000);
    await new Promise<void>((resolve) => process.once("SIGINT", resolve));
    clearInterval(timer);
    for (const server of servers) server.close();
    await sampler.stop();
}

function passThrough(args: string[]): number {
    const env = labEnv();
    const r = spawnSync("pulumi", args, { cwd: projectDir(env), env: { ...process.env, ...engineEnv(env) }, stdio: "inherit" });
    return r.status ?? 1;
}

async function main(args: string[]): Promise<number> {
    switch (args[0]) {
        case "up":
            await labUp();
            return 0;
        case "down":
            await labDown();
            return 0;
        case "pulumi":
            return passThrough(args.slice(1));
        case "edge":
            await edge();
            return 0;
        case "env":
            for (const [key, value] of Object.entries(engineEnv(labEnv()))) console.log(`export ${key}=${JSON.stringify(value)}`);
            console.log(`cd ${JSON.stringify(projectDir(labEnv()))}`);
            return 0;
        default:
            return spawnSync("bash", [HOSTS_SCRIPT, ...args], { stdio: "inherit" }).status ?? 1;
    }
}

main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: Error) => {
        process.stderr.write(`lab: ${err.message}\n`);
        process.exit(1);
    },
);
