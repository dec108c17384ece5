#!/bin/sh
# Installs one file atomically with its owner and mode. The content arrives
# base64-encoded in a variable of the step, never as a command-line argument.
# A file that existed before the first install is kept aside and put back on delete.
: "${DEST:?}" "${MODE:?}" "${OWNER:?}" "${GROUP:?}" "${CONTENT_B64:?}"
# For a systemd unit file: systemd reads the new file at once, and a unit that
# systemd keeps restarting (say, after a wrong ExecStart) restarts on the new
# one, so fixing the config fixes the host. Running units are left to the
# serving step, which restarts changed units in its own order.
UNIT=${UNIT:-}

reload_unit() {
    [ -n "$UNIT" ] || return 0
    systemctl daemon-reload
    if [ "$(systemctl show -p SubState --value "$UNIT")" = auto-restart ]; then
        systemctl restart "$UNIT" || true
        echo "restarted $UNIT, which was restarting, on its new unit file"
    fi
}

step_create() {
    # A directory this step makes is recorded, so its delete removes it again once empty.
    if [ ! -d "$(dirname "$DEST")" ] && [ ! -e "$STEP_MARKER" ]; then
        mkdir -p "$(dirname "$DEST")" "$STEP_STATE_DIR"
        printf '%s\n' "$(dirname "$DEST")" >"$STEP_MARKER.made-dir"
    fi
    mkdir -p "$(dirname "$DEST")"
    if [ -e "$DEST" ] && [ ! -e "$DEST.wirebot-orig" ] && [ ! -e "$STEP_MARKER" ]; then
        cp -p "$DEST" "$DEST.wirebot-orig"
        echo "kept the existing $DEST as $DEST.wirebot-orig"
    fi
    tmp=$(mktemp "$DEST.XXXXXX")
    printf '%s' "$CONTENT_B64" | base64 -d >"$tmp"
    chown "$OWNER:$GROUP" "$tmp"
    chmod "$MODE" "$tmp"
    mv -f "$tmp" "$DEST"
    echo "installed $DEST ($MODE $OWNER:$GROUP)"
    reload_unit
}

step_delete() {
    if [ -e "$DEST.wirebot-orig" ]; then
        mv -f "$DEST.wirebot-orig" "$DEST"
        echo "restored the original $DEST"
    else
        rm -f "$DEST"
        echo "removed $DEST"
    fi
    if [ -f "$STEP_MARKER.made-dir" ]; then
        rmdir "$(cat "$STEP_MARKER.made-dir")" 2>/dev/null || true
        rm -f "$STEP_MARKER.made-dir"
    fi
}
