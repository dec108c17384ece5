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

/** The unit a file under /etc/systemd/system defines, or "" for any other file. */
function unitOf(file: string): string {
    return /^\/etc\/systemd\/system\/[^/]+\.(service|timer|path)$/.test(file) ? file.slice("/etc/systemd/system/".length) : "";
}

/** One rendered file on a host; a secret content stays secret in state and on the wire. */
export function hostFile(host: SshHost, file: HostFileSpec, timeoutSeconds: number, opts: pulumi.CustomResourceOptions): command.remote.Command {
    // A private file's step keeps what it prints secret in the state too: whatever it says is about what the file guards.
    const privateFile = file.mode === "0600";
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
                UNIT: unitOf(file.path),
            },
            timeoutSeconds,
        },
        privateFile ? { ...opts, additionalSecretOutputs: ["stdout", "stderr"] } : opts,
    );
}
