import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { connectionOf, SshHost } from "./ssh-host";
import { readAsset, renderScript, sha256, shellQuote } from "../render/templates";

export interface RemoteStepArgs {
    host: SshHost;
    /** A script under host/scripts that defines step_create and step_delete. */
    script: string;
    /** Values the script reads as shell variables; secrets stay secret and travel on stdin only. */
    inputs: Record<string, pulumi.Input<string>>;
    /** Shell libraries under host/scripts/lib that the script calls. */
    libraries?: string[];
    timeoutSeconds: number;
}

/**
 * One idempotent step on a host. The whole step (inputs, script, dispatcher) is
 * sent on stdin, so nothing of it shows in process lists or error messages; its
 * hash is the trigger, so any change re-runs it and a delete undoes exactly it.
 */
export function remoteStep(name: string, args: RemoteStepArgs, opts: pulumi.CustomResourceOptions): command.remote.Command {
    const stepId = `${args.host.name}-${name}`;
    const stdin = pulumi.all(args.inputs).apply((values) => stepStdin(stepId, args.script, args.libraries ?? [], values));
    const revision = stdin.apply(revisionOf);
    return new command.remote.Command(
        stepId,
        {
            connection: connectionOf(args.host),
            create: launcher(args, stepId, "create"),
            delete: launcher(args, stepId, "delete"),
            stdin,
            // The revision is a hash: safe in plain text, and a secret not yet known (a generated token) must not sit in triggers.
            triggers: [pulumi.unsecret(revision)],
            logging: "stdoutAndStderr",
        },
        {
            ...opts,
            customTimeouts: { create: `${args.timeoutSeconds + 30}s`, update: `${args.timeoutSeconds + 30}s`, delete: `${args.timeoutSeconds + 30}s` },
        },
    );
}

const withoutShebang = (text: string) => text.replace(/^#!.*\n/, "");

/** What the host runs as `sh -s -- create|delete`: the revision, then the step itself. */
export function stepStdin(stepId: string, script: string, libraries: string[], values: Record<string, string>): string {
    const payload = stepPayload(stepId, script, libraries, values);
    return `REVISION=${sha256(payload)}\n${payload}`;
}

export function revisionOf(stdin: string): string {
    return /^REVISION=([0-9a-f]+)$/m.exec(stdin)![1];
}

function stepPayload(stepId: string, script: string, libraries: string[], values: Record<string, string>): string {
    return [
        "set -eu",
        `STEP_ID=${shellQuote(stepId)}`,
        ...libraries.map((lib) => withoutShebang(readAsset(`scripts/lib/${lib}`))),
        renderScript(script, values),
        withoutShebang(readAsset("scripts/step.sh")),
    ].join("\n");
}

/** The short command line the provider runs; a timeout names the step and the host. */
function launcher(args: RemoteStepArgs, stepId: string, action: "create" | "delete"): pulumi.Output<string> {
    return pulumi
        .output(args.host.address)
        .apply((address) => launcherCommand({ user: args.host.user, seconds: args.timeoutSeconds, stepId, action, host: `${args.host.name} (${address})` }));
}

export function launcherCommand(p: { user: string; seconds: number; stepId: string; action: string; host: string }): string {
    const sudo = p.user === "root" ? "" : "sudo -n ";
    const message = `wirebot-failover: step ${p.stepId} (${p.action}) timed out after ${p.seconds}s on host ${p.host}`;
    return `${sudo}timeout -k 10 ${p.seconds} sh -s -- ${p.action}; rc=$?; if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then echo ${shellQuote(message)} >&2; fi; exit $rc`;
}
