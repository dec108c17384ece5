#!/bin/sh
# Puts a host in its serving role: the services then the connector when it is
# the active side; otherwise the connector first, then the services, all
# disabled so that a host that reboots never reconnects until told.
# Units whose files changed since the last successful run are restarted if
# running (changed_units and save_revisions come from lib/unit-revisions.sh).
: "${SERVING:?}" "${SERVICES:?}" "${CONNECTOR:?}" "${UNIT_REVISIONS:?}"
# Commands (absolute paths, space-separated) run before the services start when
# the host takes over: the standby puts synced files in place and restores its
# databases from the replicas. Empty on the primary.
BEFORE_SERVING=${BEFORE_SERVING:-}
# The host agent's flip (wirebot-failover flip serve|stand-down): the handover
# between the hosts, and the refusal of an unsafe order before anything changes.
# Absent until the standby stack installed the agent: then there is no peer.
FLIP_COMMAND=${FLIP_COMMAND:-}
# The seconds of this step's time limit the flip may take: it bounds every wait
# by what is left, so it ends (and a re-run resumes) before the step is killed.
FLIP_BUDGET_SECONDS=${FLIP_BUDGET_SECONDS:-}
# "yes" on the standby: its delete (pulumi destroy -s standby) is refused while it
# serves or holds writes the primary has not merged, before anything is deleted.
REFUSE_DELETE_WHILE_SERVING=${REFUSE_DELETE_WHILE_SERVING:-no}
PRIOR_DIR=/var/lib/wirebot-failover/prior-state
# The flip's exit status for "serve, then fail": its handover is done but a debt
# is left (replication did not start again). The services start, then the step
# fails with the flip's message, so the next pulumi up runs the flip again and
# finishes it. The same number as FLIP_SERVED_WITH_DEBT in agent/contract.ts.
SERVED_WITH_DEBT=75
DEBT=""
# How long a started service must keep running before the step counts it as up.
START_SETTLE_SECONDS=1

record_prior_state() {
    mkdir -p "$PRIOR_DIR"
    for unit in $SERVICES $CONNECTOR; do
        [ -e "$PRIOR_DIR/$unit" ] && continue
        printf '%s %s\n' "$(systemctl is-enabled "$unit" 2>/dev/null || true)" \
            "$(systemctl is-active "$unit" 2>/dev/null || true)" >"$PRIOR_DIR/$unit"
    done
}

run_flip() {
    [ -n "$FLIP_COMMAND" ] || return 0
    direction=$1
    # shellcheck disable=SC2086
    set -- $FLIP_COMMAND "$1"
    if [ ! -x "$1" ]; then
        echo "no flip: $1 is not installed yet (no standby)"
        return 0
    fi
    status=0
    WIREBOT_FLIP_BUDGET_SECONDS=$FLIP_BUDGET_SECONDS "$@" || status=$?
    if [ "$status" -eq "$SERVED_WITH_DEBT" ] && [ "$direction" = serve ]; then
        DEBT="the flip left a debt (above); this run fails so that the next pulumi up pays it"
    elif [ "$status" -ne 0 ]; then
        echo "refused: the serving role is left as it was" >&2
        exit 1
    fi
}

# Enables and starts units that do not run yet. A returning primary's unit whose
# ExecStartPre claim was refused waits in auto-restart: a start would queue
# behind that hold-off (up to RestartSec), a restart does not. Running units are
# left alone, so a re-run changes nothing.
start_now() {
    STARTED=""
    for unit in "$@"; do
        systemctl enable --quiet "$unit"
        systemctl is-active --quiet "$unit" && continue
        systemctl reset-failed "$unit" 2>/dev/null || true
        systemctl restart "$unit"
        STARTED="$STARTED $unit"
    done
}

# A service this run started must be running a moment later: one that cannot
# (a wrong ExecStart, a crash at start) fails the step with its last log lines,
# before the connector sends it traffic.
verify_running() {
    [ -n "$*" ] || return 0
    sleep "$START_SETTLE_SECONDS"
    for unit in "$@"; do
        state=$(systemctl show -p ActiveState --value "$unit")/$(systemctl show -p SubState --value "$unit")
        [ "$state" = active/running ] && continue
        echo "$unit does not run ($state); its last log lines:" >&2
        journalctl -u "$unit" -n 8 --no-pager -o cat >&2 || true
        exit 1
    done
}

step_create() {
    record_prior_state
    systemctl daemon-reload
    if [ "$SERVING" = yes ]; then run_flip serve; else run_flip stand-down; fi
    changed=$(changed_units "$UNIT_REVISIONS")
    if [ "$SERVING" = yes ]; then
        if [ -n "$BEFORE_SERVING" ] && ! systemctl is-active --quiet "$CONNECTOR"; then
            for command in $BEFORE_SERVING; do
                echo "taking over: $command"
                "$command"
            done
        fi
        # shellcheck disable=SC2086
        [ -z "$changed" ] || systemctl try-restart $changed
        # shellcheck disable=SC2086
        start_now $SERVICES
        # shellcheck disable=SC2086
        verify_running $STARTED
        start_now "$CONNECTOR"
        echo "serving: $SERVICES, connector $CONNECTOR on"
    else
        systemctl disable --now "$CONNECTOR"
        # shellcheck disable=SC2086
        systemctl disable --now $SERVICES
        echo "not serving: connector $CONNECTOR and $SERVICES stopped and disabled"
    fi
    # Only now: the units run with their new files, or are stopped and start with them.
    save_revisions "$UNIT_REVISIONS"
    if [ -n "$DEBT" ]; then
        echo "serving, but $DEBT" >&2
        exit 1
    fi
}

# Why this host must not be deleted yet: a unit of its serving role runs, or the
# agent's own check (the flip to stand down) refuses: an export not merged, a
# takeover not handed back. Empty when nothing stands in the way.
serving_reason() {
    for unit in $CONNECTOR $SERVICES; do
        if systemctl is-active --quiet "$unit"; then
            echo "$unit is running"
            return 0
        fi
    done
    [ -n "$FLIP_COMMAND" ] || return 0
    # shellcheck disable=SC2086
    set -- $FLIP_COMMAND stand-down
    [ -x "$1" ] || return 0
    { "$@" >/dev/null; } 2>&1 || true
}

refuse_delete_while_serving() {
    reason=$(serving_reason)
    [ -n "$reason" ] || return 0
    echo "the standby serves ($reason): fail back first (pulumi config set wirebot:activeSide primary on both stacks, pulumi up -s primary && pulumi up -s standby), then destroy" >&2
    exit 1
}

# Undo: the units go back to how they were before the first run.
step_delete() {
    [ "$REFUSE_DELETE_WHILE_SERVING" != yes ] || refuse_delete_while_serving
    systemctl disable --now "$CONNECTOR" 2>/dev/null || true
    for unit in $SERVICES $CONNECTOR; do
        prior=$(cat "$PRIOR_DIR/$unit" 2>/dev/null || echo "disabled inactive")
        case "$prior" in
        enabled*) systemctl enable "$unit" 2>/dev/null || true ;;
        *) systemctl disable "$unit" 2>/dev/null || true ;;
        esac
        case "$prior" in
        *" active") systemctl start "$unit" 2>/dev/null || true ;;
        *) systemctl stop "$unit" 2>/dev/null || true ;;
        esac
        rm -f "$PRIOR_DIR/$unit" "$REVISIONS_DIR/$unit"
    done
    echo "restored the prior state of $SERVICES $CONNECTOR"
}
