#!/bin/sh
# Shared by the steps that run units, given `unit=hash` pairs of their files:
# changed_units prints the units whose files changed since their revision was
# last saved, and save_revisions saves them once the units run with those files.
# A step that fails or is killed before then finds the same units changed on its
# next run, and restarts them.
REVISIONS_DIR=/var/lib/wirebot-failover/unit-revisions

changed_units() {
    for pair in $1; do
        unit=${pair%%=*}
        [ "$(cat "$REVISIONS_DIR/$unit" 2>/dev/null)" = "${pair#*=}" ] || echo "$unit"
    done
}

save_revisions() {
    mkdir -p "$REVISIONS_DIR"
    for pair in $1; do
        unit=${pair%%=*}
        printf '%s\n' "${pair#*=}" >"$REVISIONS_DIR/$unit.tmp"
        mv "$REVISIONS_DIR/$unit.tmp" "$REVISIONS_DIR/$unit"
    done
}
