import { Gauge, Registry } from "prom-client";

export interface MetricsSnapshot {
    role: "primary" | "standby";
    /** Seconds since the last heartbeat sent (primary) or received (standby). */
    heartbeatAgeSeconds: number | null;
    /** Unix time of the last successful file sync. */
    lastFileSyncSeconds: number | null;
    fileSyncOk: boolean | null;
    /** Per live database path. */
    replicationLagSeconds: Record<string, number | null>;
    /** Unix time of the last successful Letta dump. */
    lastLettaDumpSeconds: number | null;
    serving: boolean;
}

/** A figure worked out from an unreadable date comes out NaN; like a missing one, it is left out. */
function known<T extends number | boolean>(value: T | null): value is T {
    return value !== null && Number.isFinite(Number(value));
}

/** A fresh registry per scrape: every value comes from the host's state at that moment, none is kept in memory. */
export async function renderMetrics(s: MetricsSnapshot): Promise<{ contentType: string; body: string }> {
    const register = new Registry();
    register.setDefaultLabels({ role: s.role });
    const gauge = (name: string, help: string, labelNames: string[] = []) => new Gauge({ name, help, labelNames, registers: [register] });
    // An unlabelled gauge that is never set would read 0, which is a value: what is not known is left out.
    const single = (name: string, help: string, value: number | boolean | null) => {
        if (known(value)) gauge(name, help).set(Number(value));
    };
    single("wirebot_heartbeat_age_seconds", "Seconds since the last heartbeat was sent (primary) or received (standby).", s.heartbeatAgeSeconds);
    single("wirebot_file_sync_last_success_timestamp_seconds", "Unix time of the last successful file sync to the standby.", s.lastFileSyncSeconds);
    single("wirebot_file_sync_ok", "1 when the last file sync succeeded.", s.fileSyncOk);
    const lag = gauge("wirebot_replication_lag_seconds", "How long the oldest write not yet on the standby's replica has waited; 0 when caught up.", ["database"]);
    for (const [database, seconds] of Object.entries(s.replicationLagSeconds)) if (known(seconds)) lag.set({ database }, seconds);
    single("wirebot_letta_dump_last_success_timestamp_seconds", "Unix time of the last successful Letta snapshot.", s.lastLettaDumpSeconds);
    single("wirebot_serving", "1 when this host's connector is active.", s.serving);
    return { contentType: register.contentType, body: await register.metrics() };
}
