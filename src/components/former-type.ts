import * as pulumi from "@pulumi/pulumi";

/** A component whose type token was renamed keeps its resources: the old token becomes an alias, so no stack sees a replacement. */
export function withFormerType(opts: pulumi.ComponentResourceOptions | undefined, formerType: string): pulumi.ComponentResourceOptions {
    return { ...opts, aliases: [...(opts?.aliases ?? []), { type: formerType }] };
}
