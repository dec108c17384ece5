#!/bin/sh
# Lets the primary's file-sync key in as the sync user, for rsync into the sync
# directory only: the key's forced command is rrsync confined to that directory,
# and `restrict` takes away the shell, forwarding and ptys. The user's login
# shell must run that command, so it is /bin/sh with a locked password.
: "${SYNC_USER:?}" "${SYNC_DIR:?}" "${PUBLIC_KEY:?}"
RRSYNC=/usr/bin/rrsync

step_create() {
    [ -x "$RRSYNC" ] || { echo "$RRSYNC is missing: install rsync 3.2.4 or newer (and python3)" >&2; exit 1; }
    if ! id "$SYNC_USER" >/dev/null 2>&1; then
        useradd --system --home-dir "$SYNC_DIR" --shell /bin/sh "$SYNC_USER"
        mkdir -p "$STEP_STATE_DIR"
        printf '%s\n' "$SYNC_USER" >"$STEP_MARKER.made-user"
        echo "created user $SYNC_USER"
    fi
    mkdir -p "$SYNC_DIR/.ssh" "$SYNC_DIR/files" "$SYNC_DIR/letta" "$SYNC_DIR/outbox"
    printf 'command="%s %s",restrict %s\n' "$RRSYNC" "$SYNC_DIR" "$PUBLIC_KEY" >"$SYNC_DIR/.ssh/authorized_keys"
    chown -R "$SYNC_USER:$SYNC_USER" "$SYNC_DIR"
    chmod 0700 "$SYNC_DIR" "$SYNC_DIR/.ssh"
    chmod 0600 "$SYNC_DIR/.ssh/authorized_keys"
    echo "file-sync key admitted for $SYNC_USER (rrsync into $SYNC_DIR only)"
}

step_delete() {
    # The synced copies stay: they are the standby's only copy of the hub's files.
    rm -rf "$SYNC_DIR/.ssh"
    echo "file-sync key removed"
    # A user this step made goes with it; its directory stays with the copies.
    if [ -f "$STEP_MARKER.made-user" ]; then
        userdel "$(cat "$STEP_MARKER.made-user")" 2>/dev/null || true
        rm -f "$STEP_MARKER.made-user"
        echo "removed user $SYNC_USER"
    fi
}
