#!/bin/sh
# Service users and the directory tree. Users and directories this step made are
# recorded so that delete removes exactly those (directories only when empty:
# data is never deleted).
: "${USERS?}" "${DIRECTORIES:?}"
CREATED="/var/lib/wirebot-failover/created-by-$STEP_ID"

step_create() {
    mkdir -p /var/lib/wirebot-failover
    touch "$CREATED"
    for user in $USERS; do
        if ! id "$user" >/dev/null 2>&1; then
            useradd --system --create-home --shell /usr/sbin/nologin "$user"
            echo "user $user" >>"$CREATED"
            echo "created user $user"
        fi
    done
    # Each entry is path:owner:mode. Parents first, so a listed directory is
    # made with its own owner rather than as a root-owned step of a deeper one.
    for entry in $(printf '%s' "$DIRECTORIES" | tr -s ' ' '\n' | awk -F: '{ print length($1), $0 }' | sort -n | cut -d' ' -f2-); do
        path=${entry%%:*}
        rest=${entry#*:}
        owner=${rest%%:*}
        mode=${rest#*:}
        # Existing directories keep their owner and mode: they may hold live data.
        if [ ! -d "$path" ]; then
            mkdir -p "$path"
            chown "$owner:$owner" "$path"
            chmod "$mode" "$path"
            echo "dir $path" >>"$CREATED"
            echo "created $path ($mode $owner)"
        fi
    done
}

step_delete() {
    [ -f "$CREATED" ] || return 0
    # Deepest directories first, and only when empty.
    grep '^dir ' "$CREATED" | cut -d' ' -f2- | sort -r | while read -r path; do
        rmdir "$path" 2>/dev/null && echo "removed empty $path" || echo "kept $path (not empty)"
    done
    grep '^user ' "$CREATED" | cut -d' ' -f2- | while read -r user; do
        userdel --remove "$user" 2>/dev/null && echo "removed user $user" || echo "kept user $user (in use)"
    done
    rm -f "$CREATED"
}
