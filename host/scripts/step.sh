#!/bin/sh
# Dispatcher appended to every remote step. A step's delete only undoes the step
# if the host still carries this step's revision and no other instance of that
# revision is in place: when a changed step is replaced, the new revision is
# created first and the old delete becomes a no-op. Instances of one revision
# are counted because the engine may create the same revision again before it
# deletes an old instance of it (a failed update's leftover, then the config
# put back): that late delete must not undo the new instance. A step's delete may
# refuse (step_delete exits non-zero before it undoes anything): then nothing is
# counted either, and the same delete runs again next time.
: "${STEP_ID:?}" "${REVISION:?}"
STEP_STATE_DIR=/var/lib/wirebot-failover/steps
STEP_MARKER="$STEP_STATE_DIR/$STEP_ID"
INSTANCES="$STEP_MARKER.instances-$REVISION"

instances() { cat "$INSTANCES" 2>/dev/null || echo 0; }

case "${1:-}" in
create)
    step_create
    mkdir -p "$STEP_STATE_DIR"
    printf '%s\n' "$REVISION" >"$STEP_MARKER"
    echo $(($(instances) + 1)) >"$INSTANCES"
    ;;
delete)
    left=$(($(instances) - 1))
    if [ "$left" -gt 0 ]; then
        echo "$left" >"$INSTANCES"
        echo "$STEP_ID: another instance of this revision is in place; nothing to undo"
    elif [ "$(cat "$STEP_MARKER" 2>/dev/null)" = "$REVISION" ]; then
        step_delete
        rm -f "$INSTANCES" "$STEP_MARKER"
        # Leave no empty bookkeeping behind once the last step is undone.
        for dir in "$STEP_STATE_DIR" /var/lib/wirebot-failover/staging /var/lib/wirebot-failover/upload \
            /var/lib/wirebot-failover/unit-revisions /var/lib/wirebot-failover/prior-state /var/lib/wirebot-failover; do
            rmdir "$dir" 2>/dev/null || true
        done
    else
        rm -f "$INSTANCES"
        echo "$STEP_ID: superseded by a newer revision; nothing to undo"
    fi
    ;;
*)
    echo "usage: step.sh create|delete" >&2
    exit 64
    ;;
esac
