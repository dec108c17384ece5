import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { remoteStep } from "./remote-step";
import { SshHost } from "./ssh-host";

export interface Directory {
    path: string;
    owner: string;
    mode: string;
}

/** Service users and directories a host needs; existing ones are left as they are. */
export function prepareHost(
    name: string,
    host: SshHost,
    users: string[],
    directories: Directory[],
    timeoutSeconds: number,
    opts: pulumi.CustomResourceOptions,
): command.remote.Command {
    const unique = [...new Map(directories.map((d) => [d.path, d])).values()].sort((a, b) => a.path.localeCompare(b.path));
    return remoteStep(
        name,
        {
            host,
            script: "prepare-host.sh",
            inputs: {
                USERS: users.join(" "),
                DIRECTORIES: unique.map((d) => `${d.path}:${d.owner}:${d.mode}`).join(" "),
            },
            timeoutSeconds,
        },
        opts,
    );
}
