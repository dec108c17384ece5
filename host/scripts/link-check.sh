#!/bin/sh
# Once both ends of the link are up: a WireGuard handshake with the other host
# within a bounded wait, or the step fails saying what stands in the way (a
# firewall between the hosts that does not pass the link's UDP port). Without
# it the agents could not talk, and heartbeats would be missed for good.
: "${IFACE:?}" "${PEER_PUBLIC_KEY:?}" "${PEER_LABEL:?}" "${LISTEN_PORT:?}" "${HOST_LABEL:?}"
HANDSHAKE_WAIT_SECONDS=${HANDSHAKE_WAIT_SECONDS:-30}

handshake() {
    wg show "$IFACE" latest-handshakes 2>/dev/null | awk -v key="$PEER_PUBLIC_KEY" '$1 == key { print $2 }'
}

step_create() {
    # Turning the keepalive off and on sends one at once, which starts a handshake.
    wg set "$IFACE" peer "$PEER_PUBLIC_KEY" persistent-keepalive 0
    wg set "$IFACE" peer "$PEER_PUBLIC_KEY" persistent-keepalive 25
    waited=0
    until [ "$(handshake)" -gt 0 ] 2>/dev/null; do
        if [ "$waited" -ge "$HANDSHAKE_WAIT_SECONDS" ]; then
            echo "$HOST_LABEL: no WireGuard handshake with the $PEER_LABEL within ${HANDSHAKE_WAIT_SECONDS} s (wg show $IFACE): each host must reach the other's public address on UDP port $LISTEN_PORT; open it in any firewall of yours or your provider's between them (this program's own rules admit exactly that), then run pulumi up -s standby again" >&2
            wg show "$IFACE" >&2 || true
            exit 1
        fi
        sleep 1
        waited=$((waited + 1))
    done
    echo "link $IFACE: handshake with the $PEER_LABEL after ${waited} s"
}

step_delete() {
    echo "nothing to undo"
}
