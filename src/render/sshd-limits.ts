// The standby's sshd must admit one SSH connection per replicated database at
// once: Litestream gives each database its own SFTP client, and at its start it
// dials all of them concurrently (up to 50 at a time in v0.5) and exits when a
// single handshake fails. Debian's default `MaxStartups 10:30:100` drops
// unauthenticated connections beyond ten at random, so past about ten tenant
// databases Litestream cannot start and all replication stops.

export const SSHD_LIMITS_DROPIN = "/etc/ssh/sshd_config.d/40-wirebot-startups.conf";

/** Connections beyond Litestream's: the operator's sessions, Pulumi's steps, the file sync, the agents' calls. */
export const STARTUPS_HEADROOM = 16;

/** Debian's default ceiling of unauthenticated connections, which the drop-in never lowers. */
const DEBIAN_FULL = 100;

/**
 * sshd's `MaxStartups start:rate:full` for a standby that receives `databases`
 * listed databases and up to `maxTenants` tenant databases: no handshake is
 * dropped up to one per database plus headroom; beyond that sshd drops them
 * at random as it does by default (30 %, rising to all at `full`).
 */
export function maxStartups(databases: number, maxTenants: number): string {
    const start = databases + maxTenants + STARTUPS_HEADROOM;
    return `${start}:30:${Math.max(DEBIAN_FULL, 2 * start)}`;
}
