import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import type { BinarySource } from "../config/schema";
import { remoteStep } from "./remote-step";
import { connectionOf, SshHost } from "./ssh-host";
import { sha256OfFile } from "../render/templates";

/**
 * Installs a binary built for this host's own architecture: downloaded from a
 * pinned URL and checked against its sha256, or copied from the operator's machine.
 */
export function installBinary(
    host: SshHost,
    name: string,
    source: BinarySource,
    timeoutSeconds: number,
    opts: pulumi.CustomResourceOptions,
): command.remote.Command {
    if ("url" in source) {
        return remoteStep(
            `binary-${name}`,
            { host, script: "install-binary.sh", inputs: { NAME: name, ARCH: host.arch, SHA256: source.sha256, SOURCE: source.url }, timeoutSeconds },
            opts,
        );
    }
    const digest = sha256OfFile(source.path);
    const uploadPath = `/var/lib/wirebot-failover/upload/${name}-${digest}`;
    const upload = new command.remote.CopyToRemote(
        `${host.name}-upload-${name}`,
        {
            connection: connectionOf(host),
            source: new pulumi.asset.FileAsset(source.path),
            remotePath: uploadPath,
            triggers: [digest],
        },
        { ...opts, customTimeouts: { create: `${timeoutSeconds}s`, update: `${timeoutSeconds}s` } },
    );
    return remoteStep(
        `binary-${name}`,
        { host, script: "install-binary.sh", inputs: { NAME: name, ARCH: host.arch, SHA256: digest, SOURCE: uploadPath }, timeoutSeconds },
        { ...opts, dependsOn: [upload] },
    );
}
