import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { remoteStep } from "./remote-step";
import { SshHost } from "./ssh-host";

export interface HostFileSpec {
    path: string;
    content: pulumi.Input<string>;
    mode: string;
    owner?: string;
    group?: string;
}

/** One rendered file on a host; a secret content stays secret in state and on the wire. */
export function hostFile(host: SshHost, file: HostFileSpec, timeoutSeconds: number, opts: pulumi.CustomResourceOptions): command.remote.Command {
    return remoteStep(
        `file${file.path.replace(/[^A-Za-z0-9.]+/g, "-")}`,
        {
            host,
            script: "install-file.sh",
            inputs: {
                DEST: file.path,
                MODE: file.mode,
                OWNER: file.owner ?? "root",
                GROUP: file.group ?? file.owner ?? "root",
                CONTENT_B64: pulumi.output(file.content).apply((c) => Buffer.from(c, "utf8").toString("base64")),
            },
            timeoutSeconds,
        },
        opts,
    );
}
