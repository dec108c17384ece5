import * as pulumi from "@pulumi/pulumi";
import { loadSettings } from "./src/config/load";
import { HostKeyCheck, hostKeyCheck } from "./src/host/host-key-check";

// Config is read and validated once, before any resource is registered. Each
// role loads only its own stack module, so a primary never loads cloud code it
// does not use. The engine calls the program without an argument, so the hosts'
// keys are scanned; unit tests pass their own check, as their hosts do not exist.
export = async (checkHostKey: HostKeyCheck = hostKeyCheck()): Promise<Record<string, unknown>> => {
    const settings = loadSettings(pulumi.getStack());
    switch (settings.role) {
        case "primary":
            return (await import("./src/stacks/primary")).primaryStack(settings, checkHostKey);
        case "standby":
            return (await import("./src/stacks/standby")).standbyStack(settings, checkHostKey);
        case "tenant":
            return (await import("./src/stacks/tenant")).tenantStack(settings);
    }
};
