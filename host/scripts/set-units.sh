#!/bin/sh
# Runs a set of helper units, restarting those whose files changed since the
# last successful run (changed_units and save_revisions: lib/unit-revisions.sh).
: "${UNITS:?}" "${UNIT_REVISIONS:?}"

step_create() {
    changed=$(changed_units "$UNIT_REVISIONS")
    systemctl daemon-reload
    # shellcheck disable=SC2086
    [ -z "$changed" ] || systemctl try-restart $changed
    # shellcheck disable=SC2086
    systemctl enable --now $UNITS
    save_revisions "$UNIT_REVISIONS"
    echo "running: $UNITS"
}

step_delete() {
    # shellcheck disable=SC2086
    systemctl disable --now $UNITS 2>/dev/null || true
    for unit in $UNITS; do rm -f "$REVISIONS_DIR/$unit"; done
    echo "stopped and disabled: $UNITS"
}
