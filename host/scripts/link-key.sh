#!/bin/sh
# This host's WireGuard key for the link between the primary and the standby.
# The private key is made here (wg genkey under umask 077, root's 0600 file in
# /etc/wireguard) and never leaves the host; only its public half is printed,
# for the other host's peer entry. First, what the link needs on the host: wg
# and wg-quick (wireguard-tools), nft (nftables), and wireguard-go where the
# kernel has no WireGuard module (wg-quick falls back to it by itself). A host
# the program made (a Hetzner standby) gets what it lacks with apt-get; any
# other host is the operator's, and the step fails naming what to install.
: "${KEY_PATH:?}" "${HOST_LABEL:?}"
# install (apt-get what is missing) or require (fail naming it).
PACKAGES_POLICY=${PACKAGES_POLICY:-require}

kernel_has_wireguard() {
    [ -e /sys/module/wireguard ] && return 0
    command -v modprobe >/dev/null 2>&1 && modprobe -q wireguard 2>/dev/null
}

missing_packages() {
    { command -v wg && command -v wg-quick; } >/dev/null 2>&1 || echo wireguard-tools
    [ -x /usr/sbin/nft ] || echo nftables
    kernel_has_wireguard || command -v wireguard-go >/dev/null 2>&1 || echo wireguard-go
}

install_packages() {
    # A new server's cloud-init may still be installing packages: apt waits for it.
    if command -v cloud-init >/dev/null 2>&1; then cloud-init status --wait >/dev/null 2>&1 || true; fi
    export DEBIAN_FRONTEND=noninteractive
    apt="apt-get -q -o DPkg::Lock::Timeout=120"
    # shellcheck disable=SC2086
    $apt install -y --no-install-recommends "$@" >&2 || { $apt update >&2 && $apt install -y --no-install-recommends "$@" >&2; }
}

step_create() {
    missing=$(missing_packages | tr '\n' ' ')
    if [ -n "$missing" ] && [ "$PACKAGES_POLICY" = install ]; then
        echo "installing $missing for the link" >&2
        # shellcheck disable=SC2086
        install_packages $missing
        missing=$(missing_packages | tr '\n' ' ')
    fi
    if [ -n "$missing" ]; then
        echo "$HOST_LABEL lacks what the WireGuard link between the hosts needs; install it with: apt-get install ${missing% }; then run pulumi up -s standby again" >&2
        exit 1
    fi
    # The interface was renamed: the key made for the former name goes.
    former=$(cat "$STEP_MARKER.key" 2>/dev/null || true)
    if [ -n "$former" ] && [ "$former" != "$KEY_PATH" ]; then
        rm -f "$former"
        echo "removed the former key $former" >&2
    fi
    dir=$(dirname "$KEY_PATH")
    mkdir -p "$STEP_STATE_DIR"
    if [ ! -d "$dir" ]; then
        install -d -m 0700 -o root -g root "$dir"
        printf '%s\n' "$dir" >"$STEP_MARKER.made-dir"
    fi
    umask 077
    if [ ! -s "$KEY_PATH" ]; then
        wg genkey >"$KEY_PATH.new"
        mv -f "$KEY_PATH.new" "$KEY_PATH"
        echo "made this host's WireGuard key, $KEY_PATH" >&2
    fi
    chown root:root "$KEY_PATH"
    chmod 0600 "$KEY_PATH"
    printf '%s\n' "$KEY_PATH" >"$STEP_MARKER.key"
    wg pubkey <"$KEY_PATH"
}

step_delete() {
    rm -f "$KEY_PATH" "$KEY_PATH.new" "$STEP_MARKER.key"
    echo "removed $KEY_PATH"
    if [ -f "$STEP_MARKER.made-dir" ]; then
        rmdir "$(cat "$STEP_MARKER.made-dir")" 2>/dev/null || true
        rm -f "$STEP_MARKER.made-dir"
    fi
}
