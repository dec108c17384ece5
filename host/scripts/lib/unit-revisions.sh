#!/bin/sh
# Shared by the steps that run units: prints the units whose files changed since
# the last run (from `unit=hash` pairs) and records the new hashes.
REVISIONS_DIR=/var/lib/wirebot-failover/unit-revisions

changed_units() {
    mkdir -p "$REVISIONS_DIR"
    for pair in $1; do
        unit=${pair%%=*}
        revision=${pair#*=}
        if [ "$(cat "$REVISIONS_DIR/$unit" 2>/dev/null)" != "$revision" ]; then
            echo "$unit"
            printf '%s\n' "$revision" >"$REVISIONS_DIR/$unit"
        fi
    done
}
