#!/bin/sh
# The WireGuard link between the primary and the standby, on this host:
# /etc/wireguard/<interface>.conf (root's, 0600) with this host's key (made
# here by link-key.sh, copied in here on the host) and the other host as its
# only peer, brought up by the packaged wg-quick@<interface>.service and
# enabled, so it comes back at boot. The agents talk inside it. An interface,
# a config, a UDP port or a subnet already in use here is refused, never taken
# over. Delete takes the interface down, disables the unit and removes the
# config; the key goes with link-key.sh's delete.
: "${IFACE:?}" "${LISTEN_PORT:?}" "${SUBNET:?}" "${CONF:?}" "${HOST_LABEL:?}"
WG_DIR=/etc/wireguard
MANAGED="managed by wirebot-failover"
KEY="$WG_DIR/$IFACE.key"
UNIT="wg-quick@$IFACE.service"

conf_of() { echo "$WG_DIR/$1.conf"; }

# A config this program wrote says so on its first line.
ours() { head -n 1 "$(conf_of "$1")" 2>/dev/null | grep -q "$MANAGED"; }

refuse() {
    echo "$HOST_LABEL: $*; nothing was changed" >&2
    exit 1
}

take_down() {
    systemctl disable --now --quiet "wg-quick@$1.service" 2>/dev/null || true
    # Up without its unit (wg-quick run by hand): down all the same.
    if ip link show dev "$1" >/dev/null 2>&1; then
        wg-quick down "$(conf_of "$1")" >/dev/null 2>&1 || ip link delete dev "$1" 2>/dev/null || true
    fi
    rm -f "$(conf_of "$1")" "$(conf_of "$1").new"
    echo "link $1 down, wg-quick@$1.service disabled, $(conf_of "$1") removed"
}

# Nothing of the link may be someone else's: the name, the port, the subnet.
check_free() {
    if [ -e "$(conf_of "$IFACE")" ] && ! ours "$IFACE"; then
        refuse "$(conf_of "$IFACE") is not this program's (a WireGuard interface of your own?): give the link another name with pulumi config set --path wirebot:link.interface <name>"
    fi
    systemctl is-active --quiet "$UNIT" && return 0
    if ip link show dev "$IFACE" >/dev/null 2>&1; then
        ours "$IFACE" || refuse "a network interface named $IFACE exists: give the link another name with pulumi config set --path wirebot:link.interface <name>"
        # Ours, brought up by hand: the unit brings it up below.
        wg-quick down "$(conf_of "$IFACE")" >/dev/null 2>&1 || ip link delete dev "$IFACE"
    fi
    users=$(wg show all listen-port 2>/dev/null | awk -v port="$LISTEN_PORT" '$2 == port { print $1 }' | tr '\n' ' ')
    [ -z "$users" ] || refuse "UDP port $LISTEN_PORT is taken by the WireGuard interface ${users% }: give the link another port with pulumi config set --path wirebot:link.port <port>"
    if ss -Hlun "sport = :$LISTEN_PORT" 2>/dev/null | grep -q .; then
        refuse "UDP port $LISTEN_PORT is in use (ss -lunp 'sport = :$LISTEN_PORT' shows by what): give the link another port with pulumi config set --path wirebot:link.port <port>"
    fi
    taken=$(ip -4 -o address show to "$SUBNET" 2>/dev/null | awk '{ print $4 " on " $2 }' | tr '\n' ' ')
    routed=$(ip -4 route show root "$SUBNET" 2>/dev/null | tr '\n' ' ')
    if [ -n "$taken$routed" ]; then
        refuse "the link's subnet $SUBNET is in use here (${taken}${routed}): give the link another private subnet with pulumi config set --path wirebot:link.subnet <a.b.c.d/30>"
    fi
}

unit_failed() {
    echo "$HOST_LABEL: $UNIT did not start; its last log lines:" >&2
    journalctl -u "$UNIT" -n 15 --no-pager -o cat >&2 || true
    exit 1
}

step_create() {
    # The interface was renamed: the one this step brought up before goes first.
    former=$(cat "$STEP_MARKER.iface" 2>/dev/null || true)
    if [ -n "$former" ] && [ "$former" != "$IFACE" ] && ours "$former"; then take_down "$former"; fi
    [ -s "$KEY" ] || refuse "$KEY is missing (the step that makes this host's key runs first; run pulumi up -s standby again)"
    check_free
    umask 077
    conf=$(conf_of "$IFACE")
    # The private key goes in here, on the host: read from its file by awk, never on a command line.
    printf '%s' "$CONF" | awk 'NR == FNR { key = $0; next } $0 == "@PRIVATE_KEY@" { print "PrivateKey = " key; next } { print }' "$KEY" - >"$conf.new"
    chown root:root "$conf.new"
    chmod 0600 "$conf.new"
    if cmp -s "$conf.new" "$conf"; then
        rm -f "$conf.new"
        changed=no
    else
        mv -f "$conf.new" "$conf"
        changed=yes
    fi
    mkdir -p "$STEP_STATE_DIR"
    printf '%s\n' "$IFACE" >"$STEP_MARKER.iface"
    systemctl enable --quiet "$UNIT"
    if [ "$changed" = yes ] && systemctl is-active --quiet "$UNIT"; then
        systemctl restart "$UNIT" || unit_failed
    else
        systemctl start "$UNIT" || unit_failed
    fi
    echo "link $IFACE up ($UNIT): $(ip -brief address show dev "$IFACE" 2>/dev/null)"
}

step_delete() {
    if [ "$(cat "$STEP_MARKER.iface" 2>/dev/null)" = "$IFACE" ] || ours "$IFACE"; then take_down "$IFACE"; fi
    rm -f "$STEP_MARKER.iface"
}
