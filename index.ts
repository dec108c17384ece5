import * as pulumi from "@pulumi/pulumi";
import { loadSettings } from "./src/config/load";

// Config is read and validated once, before any resource is registered. Each
// role loads only its own stack module, so a primary never loads cloud code it
// does not use.
export = async (): Promise<Record<string, unknown>> => {
    const settings = loadSettings(pulumi.getStack());
    switch (settings.role) {
        case "primary":
            return (await import("./src/stacks/primary")).primaryStack(settings);
        case "standby":
            return (await import("./src/stacks/standby")).standbyStack(settings);
        case "tenant":
            return (await import("./src/stacks/tenant")).tenantStack(settings);
    }
};
