import type { Probes } from "../../agent/contract";
import type { DrillConfig } from "../config/schema";
import { ServiceSpec } from "./service-units";

export const FIRE_DRILL_SERVICE = "wirebot-fire-drill.service";
export const FIRE_DRILL_TIMER = "wirebot-fire-drill.timer";

/**
 * The drill's checks, on whichever side serves: every service answers at its
 * port, the gateway answers a chat message, the scoreboard stores an event.
 */
export function drillProbes(services: ServiceSpec[], drill: DrillConfig): Probes {
    const local = (port: number, path: string) => `http://127.0.0.1:${port}${path}`;
    const enabled = services.filter((s) => s.enabled);
    const gateway = enabled.find((s) => s.name === "gateway");
    const scoreboard = enabled.find((s) => s.name === "scoreboard");
    return {
        endpoints: enabled.map((s) => ({ name: s.name, url: local(s.port, "/") })),
        chat: drill.chat && gateway ? { url: local(gateway.port, drill.chat.path), model: drill.chat.model } : null,
        event:
            drill.event && scoreboard
                ? { url: local(scoreboard.port, drill.event.path), database: drill.event.database, table: drill.event.table, idColumn: drill.event.idColumn }
                : null,
    };
}
