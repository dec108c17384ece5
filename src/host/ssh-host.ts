import * as pulumi from "@pulumi/pulumi";
import type * as command from "@pulumi/command";
import type { Architecture } from "../config/schema";

/** A host the program converges over SSH: the primary, or the standby once it exists. */
export interface SshHost {
    /** "primary" or "standby": used in resource names and in every error about the host. */
    name: string;
    address: pulumi.Input<string>;
    port: number;
    user: string;
    /** The host's public key; the connection fails rather than trusting an unknown key. */
    hostKey: pulumi.Input<string>;
    privateKey: pulumi.Input<string>;
    arch: Architecture;
}

/** Where a host is reached and the key it must present: what a replica or sync target on the standby pins. */
export interface SshEndpoint {
    host: string;
    port: number;
    hostKey: string;
}

// Bounded dialling: an unreachable host fails the step in about 2 x 8 s instead of minutes.
const DIAL_ATTEMPTS = 2;
const DIAL_TIMEOUT_SECONDS = 8;

export function connectionOf(host: SshHost): command.types.input.remote.ConnectionArgs {
    return {
        host: host.address,
        port: host.port,
        user: host.user,
        hostKey: host.hostKey,
        privateKey: host.privateKey,
        dialErrorLimit: DIAL_ATTEMPTS,
        perDialTimeout: DIAL_TIMEOUT_SECONDS,
    };
}
