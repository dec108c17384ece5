import type { AgentConfig } from "../../contract";
import { readState } from "./state";
import { unitStates } from "./systemd";

export function hostStatus(config: AgentConfig) {
    const units = [...config.units.services, config.units.connector];
    return {
        role: config.role,
        units: unitStates(units),
        lastHeartbeatReceived: config.role === "standby" ? readState(config.stateDir, "last-heartbeat.json") : undefined,
        lastHeartbeatSent: config.role === "primary" ? readState(config.stateDir, "last-heartbeat-sent.json") : undefined,
    };
}
