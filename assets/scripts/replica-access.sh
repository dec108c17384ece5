#!/bin/sh
# Lets the primary's replication key in as the replica user, for SFTP only.
: "${REPLICA_USER:?}" "${PUBLIC_KEY:?}"

sftp_server() {
    for candidate in /usr/lib/openssh/sftp-server /usr/libexec/openssh/sftp-server /usr/lib/ssh/sftp-server; do
        [ -x "$candidate" ] && { echo "$candidate"; return; }
    done
    echo "no sftp-server found on this host; install openssh-sftp-server" >&2
    exit 1
}

step_create() {
    home=$(getent passwd "$REPLICA_USER" | cut -d: -f6)
    [ -n "$home" ] || { echo "user $REPLICA_USER does not exist" >&2; exit 1; }
    mkdir -p "$home/.ssh"
    printf 'restrict,command="%s" %s\n' "$(sftp_server)" "$PUBLIC_KEY" >"$home/.ssh/authorized_keys"
    chown -R "$REPLICA_USER:$REPLICA_USER" "$home/.ssh"
    chmod 0700 "$home/.ssh"
    chmod 0600 "$home/.ssh/authorized_keys"
    echo "replication key admitted for $REPLICA_USER (sftp only)"
}

step_delete() {
    home=$(getent passwd "$REPLICA_USER" | cut -d: -f6)
    [ -z "$home" ] || rm -rf "$home/.ssh"
    echo "replication key removed"
}
