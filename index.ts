import * as pulumi from "@pulumi/pulumi";
import { loadSettings } from "./components/config";
import { primaryStack } from "./components/primary-stack";
import { standbyStack } from "./components/standby-stack";
import { tenantStack } from "./components/tenant-stack";

// Config is read and validated once, before any resource is registered.
export = async (): Promise<Record<string, unknown>> => {
    const settings = loadSettings(pulumi.getStack());
    switch (settings.role) {
        case "primary":
            return primaryStack(settings);
        case "standby":
            return standbyStack(settings);
        case "tenant":
            return tenantStack(settings);
    }
};
