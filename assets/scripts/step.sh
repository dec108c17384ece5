#!/bin/sh
# Dispatcher appended to every remote step. A step's delete only undoes the step
# if the host still carries this step's revision: when a changed step is
# replaced, the new revision is created first and the old delete becomes a no-op.
: "${STEP_ID:?}" "${REVISION:?}"
STEP_STATE_DIR=/var/lib/wirebot-failover/steps
STEP_MARKER="$STEP_STATE_DIR/$STEP_ID"

case "${1:-}" in
create)
    step_create
    mkdir -p "$STEP_STATE_DIR"
    printf '%s\n' "$REVISION" >"$STEP_MARKER"
    ;;
delete)
    if [ "$(cat "$STEP_MARKER" 2>/dev/null)" = "$REVISION" ]; then
        step_delete
        rm -f "$STEP_MARKER"
        # Leave no empty bookkeeping behind once the last step is undone.
        for dir in "$STEP_STATE_DIR" /var/lib/wirebot-failover/staging /var/lib/wirebot-failover/upload \
            /var/lib/wirebot-failover/unit-revisions /var/lib/wirebot-failover/prior-state /var/lib/wirebot-failover; do
            rmdir "$dir" 2>/dev/null || true
        done
    else
        echo "$STEP_ID: superseded by a newer revision; nothing to undo"
    fi
    ;;
*)
    echo "usage: step.sh create|delete" >&2
    exit 64
    ;;
esac
