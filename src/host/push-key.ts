import * as pulumi from "@pulumi/pulumi";
import { remoteStep } from "./remote-step";
import { SshHost } from "./ssh-host";

/**
 * A key the primary pushes to the standby with, made on the primary by
 * replication-key.sh; only its public half comes back, for the standby's
 * authorized_keys.
 */
export function pushKey(name: string, primary: SshHost, keyPath: string, comment: string, timeoutSeconds: number, opts: pulumi.CustomResourceOptions): pulumi.Output<string> {
    const step = remoteStep(name, { host: primary, script: "replication-key.sh", inputs: { KEY_PATH: keyPath, KEY_COMMENT: comment }, timeoutSeconds }, opts);
    return publicHalf(step);
}

/** A key step prints the public half of the key it made last; the private half never leaves the host. */
export function publicHalf(step: { stdout: pulumi.Output<string> }): pulumi.Output<string> {
    return step.stdout.apply((out) => out.trim().split("\n").pop() ?? "");
}
