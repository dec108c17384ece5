#!/bin/sh
# A key of the primary's for pushing to the standby (replicas, synced files). It
# is made on the host and never leaves it; only the public half is printed, for
# the standby's authorized_keys.
: "${KEY_PATH:?}"
KEY_COMMENT=${KEY_COMMENT:-wirebot-replication}

step_create() {
    mkdir -p "$(dirname "$KEY_PATH")"
    if [ ! -f "$KEY_PATH" ]; then
        ssh-keygen -q -t ed25519 -N '' -C "$KEY_COMMENT@$(hostname)" -f "$KEY_PATH" >/dev/null
    fi
    chmod 0600 "$KEY_PATH"
    cut -d' ' -f1,2 "$KEY_PATH.pub"
}

step_delete() {
    rm -f "$KEY_PATH" "$KEY_PATH.pub"
    echo "removed $KEY_PATH"
}
