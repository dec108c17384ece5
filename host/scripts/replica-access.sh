#!/bin/sh
# Lets the primary's replication key in as the replica user, for SFTP only:
# sshd serves that user with internal-sftp, so no shell ever runs for it (its
# login shell is nologin, which would corrupt an SFTP session).
: "${REPLICA_USER:?}" "${PUBLIC_KEY:?}"
DROPIN=/etc/ssh/sshd_config.d/50-wirebot-replica.conf

reload_sshd() {
    if ! sshd -t; then
        rm -f "$DROPIN"
        echo "sshd rejected its configuration; $DROPIN removed" >&2
        exit 1
    fi
    systemctl reload ssh 2>/dev/null || systemctl reload sshd
}

step_create() {
    home=$(getent passwd "$REPLICA_USER" | cut -d: -f6)
    [ -n "$home" ] || { echo "user $REPLICA_USER does not exist" >&2; exit 1; }
    mkdir -p "$home/.ssh"
    printf 'restrict %s\n' "$PUBLIC_KEY" >"$home/.ssh/authorized_keys"
    chown -R "$REPLICA_USER:$REPLICA_USER" "$home/.ssh"
    chmod 0700 "$home/.ssh"
    chmod 0600 "$home/.ssh/authorized_keys"
    printf 'Match User %s\n    ForceCommand internal-sftp\n    AllowTcpForwarding no\n    AllowAgentForwarding no\n    X11Forwarding no\n    PermitTTY no\n' \
        "$REPLICA_USER" >"$DROPIN"
    reload_sshd
    echo "replication key admitted for $REPLICA_USER (sftp only)"
}

step_delete() {
    home=$(getent passwd "$REPLICA_USER" | cut -d: -f6)
    [ -z "$home" ] || rm -rf "$home/.ssh"
    rm -f "$DROPIN"
    reload_sshd
    echo "replication key removed"
}
