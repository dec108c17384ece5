#!/bin/sh
# Lets the primary's replication key in as the replica user, for SFTP only:
# sshd serves that user with internal-sftp, so no shell ever runs for it (its
# login shell is nologin, which would corrupt an SFTP session).
# And lets Litestream's connections in all at once: it opens one SSH
# connection per database and dials all of them as it starts, and exits when a
# single handshake fails; sshd's default MaxStartups (10:30:100) drops
# unauthenticated connections beyond ten at random. MaxStartups counts only
# connections that have not authenticated yet, and the standby's SSH port is
# open to the primary and the admin addresses only.
: "${REPLICA_USER:?}" "${PUBLIC_KEY:?}" "${MAX_STARTUPS:?}"
DROPIN=/etc/ssh/sshd_config.d/50-wirebot-replica.conf
# Read before 50-wirebot-replica.conf, whose Match block must not enclose it.
LIMITS=/etc/ssh/sshd_config.d/40-wirebot-startups.conf

reload_sshd() {
    if ! sshd -t; then
        rm -f "$DROPIN" "$LIMITS"
        echo "sshd rejected its configuration; $DROPIN and $LIMITS removed" >&2
        exit 1
    fi
    systemctl reload ssh 2>/dev/null || systemctl reload sshd
}

# Unlike most keywords, sshd takes the last MaxStartups it reads: one the
# operator set in a later drop-in or in sshd_config (after its Include) wins.
# Lower than ours, Litestream could not start.
check_startups() {
    if ! settings=$(sshd -T 2>&1); then
        rm -f "$LIMITS"
        echo "sshd rejected its configuration with $LIMITS ($settings); removed it, nothing else changed" >&2
        exit 1
    fi
    effective=$(printf '%s\n' "$settings" | awk '$1 == "maxstartups" { print $2 }')
    # Enough only when the comparison says so: a value it cannot read is not enough.
    if ! [ "${effective%%:*}" -ge "${MAX_STARTUPS%%:*}" ] 2>/dev/null; then
        rm -f "$LIMITS"
        others=$(grep -ils '^[[:space:]]*MaxStartups' /etc/ssh/sshd_config /etc/ssh/sshd_config.d/*.conf 2>/dev/null | paste -sd, -)
        echo "sshd admits ${effective%%:*} unauthenticated connections at once (MaxStartups ${effective:-unknown}, set in ${others:-its configuration}), fewer than the ${MAX_STARTUPS%%:*} Litestream opens as it starts (one per database, wirebot:litestream.maxTenants plus the listed ones and headroom): it would exit. Raise it there to at least $MAX_STARTUPS or remove it; nothing was changed" >&2
        exit 1
    fi
}

step_create() {
    home=$(getent passwd "$REPLICA_USER" | cut -d: -f6)
    [ -n "$home" ] || { echo "user $REPLICA_USER does not exist" >&2; exit 1; }
    printf '# Managed by wirebot-failover: one connection per replicated database, all at once.\nMaxStartups %s\n' "$MAX_STARTUPS" >"$LIMITS"
    check_startups
    mkdir -p "$home/.ssh"
    printf 'restrict %s\n' "$PUBLIC_KEY" >"$home/.ssh/authorized_keys"
    chown -R "$REPLICA_USER:$REPLICA_USER" "$home/.ssh"
    chmod 0700 "$home/.ssh"
    chmod 0600 "$home/.ssh/authorized_keys"
    printf 'Match User %s\n    ForceCommand internal-sftp\n    AllowTcpForwarding no\n    AllowAgentForwarding no\n    X11Forwarding no\n    PermitTTY no\n' \
        "$REPLICA_USER" >"$DROPIN"
    reload_sshd
    echo "replication key admitted for $REPLICA_USER (sftp only); sshd admits $MAX_STARTUPS unauthenticated connections (MaxStartups)"
}

step_delete() {
    home=$(getent passwd "$REPLICA_USER" | cut -d: -f6)
    [ -z "$home" ] || rm -rf "$home/.ssh"
    rm -f "$DROPIN" "$LIMITS"
    reload_sshd
    echo "replication key removed; sshd's MaxStartups back to its own"
}
