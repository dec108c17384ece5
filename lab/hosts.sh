#!/usr/bin/env bash
# The lab's two hosts: Debian booted with systemd-nspawn (systemd as PID 1, real
# sshd), each in its own network namespace on 10.77.0.0/24, reachable from this
# machine and from each other, and from nothing else. Host keys are made here before boot and pinned.
#
#   hosts.sh up                      build or reuse the root filesystem, boot both hosts
#   hosts.sh down                    tear everything down (idempotent)
#   hosts.sh status                  which hosts run
#   hosts.sh env                     shell variables describing the lab
#   hosts.sh ssh <host> [command]    a shell or a command on a host
#   hosts.sh poweroff|poweron <host> pull the plug / boot again with the same disk
#   hosts.sh partition|heal          cut / restore the primary<->standby link only
#   hosts.sh memory [host]           each host's memory limit, use, peak and OOM kills
#
# Each host gets a memory limit like the default standby's RAM (a CPX11 has
# 2 GiB), so a memory blow-up shows as it would on the real server:
# LAB_MEMORY_PRIMARY and LAB_MEMORY_STANDBY, in MiB or with an M or G suffix
# (default 2G each), or "off".
set -euo pipefail

LAB_DIR=$(cd "$(dirname "$0")" && pwd)
STATE=${WIREBOT_LAB_STATE:-$LAB_DIR/.state}
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/wirebot-failover/rootfs"
SUITE=bookworm
MIRROR=http://deb.debian.org/debian
# wireguard-tools, nftables and wireguard-go: the agents' WireGuard link between
# the hosts and its firewall (the lab's kernel has no WireGuard module, so
# wg-quick runs the userspace wireguard-go on /dev/net/tun, which nspawn gives
# the hosts).
PACKAGES=systemd,systemd-sysv,dbus,openssh-server,openssh-client,openssh-sftp-server,sqlite3,rsync,python3,curl,ca-certificates,iproute2,iputils-ping,procps,nodejs,less,wireguard-tools,wireguard-go,nftables
BRIDGE=wblab0
BRIDGE_ADDR=10.77.0.1
HOSTS=(primary standby)
BOOT_TIMEOUT=90
LAB_MEMORY_PRIMARY=${LAB_MEMORY_PRIMARY:-2G}
LAB_MEMORY_STANDBY=${LAB_MEMORY_STANDBY:-2G}

log() { printf '[lab %5ss] %s\n' "$SECONDS" "$*" >&2; }
die() { log "error: $*"; exit 1; }

address_of() {
    case "$1" in
    primary) echo 10.77.0.10 ;;
    standby) echo 10.77.0.11 ;;
    *) die "no lab host named '$1' (hosts: ${HOSTS[*]})" ;;
    esac
}

rootfs() {
    local key dir
    key=$(printf '%s %s %s' "$SUITE" "$MIRROR" "$PACKAGES" | sha256sum | cut -c1-12)
    dir="$CACHE/$SUITE-$key"
    if [ ! -f "$dir/.complete" ]; then
        log "building the $SUITE root filesystem with debootstrap (once; takes a few minutes)"
        rm -rf "$dir"
        mkdir -p "$dir"
        debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$dir" "$MIRROR" >"$CACHE/debootstrap-$key.log" 2>&1 ||
            { tail -n 20 "$CACHE/debootstrap-$key.log" >&2; die "debootstrap failed (log: $CACHE/debootstrap-$key.log)"; }
        # Only an Ed25519 host key, made per host before boot, so the pin is the only key offered.
        rm -f "$dir"/etc/ssh/ssh_host_*
        chroot "$dir" systemctl disable ssh.socket >/dev/null 2>&1 || true
        chroot "$dir" systemctl enable ssh.service >/dev/null 2>&1 || true
        touch "$dir/.complete"
    fi
    echo "$dir"
}

# The tunnel's public hostnames as the lab knows them: the product's default
# routes and the lab tenant's (lab/engine.ts). They lead to the edge double.
EDGE_HOSTNAMES=(helm.wirebot.chat wins.wirebot.chat api.wirebot.chat lab.clients.wirebot.chat)

# A CA of the lab's own and a certificate for the public hostnames, for the edge
# double (runtime-harness.ts witness()): the hosts reach those names over TLS, as
# they reach Cloudflare, so the agents ask the product's default witness
# (https://helm.wirebot.chat/.well-known/wirebot/serving) unchanged.
edge_tls() {
    local tls="$STATE/edge-tls" sans
    [ -f "$tls/edge.pem" ] && return 0
    mkdir -p "$tls"
    sans=$(printf 'DNS:%s,' "${EDGE_HOSTNAMES[@]}")
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
        -subj "/CN=wirebot lab edge CA" -keyout "$tls/ca.key" -out "$tls/ca.pem" 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -subj "/CN=helm.wirebot.chat" -keyout "$tls/edge.key" -out "$tls/edge.csr" 2>/dev/null
    printf 'subjectAltName=%s\n' "${sans%,}" >"$tls/edge.ext"
    openssl x509 -req -in "$tls/edge.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" -CAcreateserial \
        -days 3650 -extfile "$tls/edge.ext" -out "$tls/edge.pem" 2>/dev/null
    chmod 600 "$tls/ca.key" "$tls/edge.key"
}

prepare_host() {
    local name=$1 base=$2 dir="$STATE/machines/$1"
    if [ ! -d "$dir" ]; then
        log "$name: copying the root filesystem"
        mkdir -p "$STATE/machines"
        cp -a --reflink=auto "$base" "$dir"
    fi
    echo "wb-$name" >"$dir/etc/hostname"
    printf '127.0.0.1 localhost\n127.0.1.1 wb-%s\n' "$name" >"$dir/etc/hosts"
    # The public hostnames lead to the edge double on the bridge, whose CA Node
    # trusts through NODE_EXTRA_CA_CERTS: in every unit (the agents, may-serve in
    # the services' ExecStartPre) and every SSH session (the serving step's flip).
    printf '%s %s\n' "$BRIDGE_ADDR" "${EDGE_HOSTNAMES[*]}" >>"$dir/etc/hosts"
    install -D -m 0644 "$STATE/edge-tls/ca.pem" "$dir/etc/wirebot-lab/edge-ca.pem"
    mkdir -p "$dir/etc/systemd/system.conf.d"
    printf '[Manager]\nDefaultEnvironment=NODE_EXTRA_CA_CERTS=/etc/wirebot-lab/edge-ca.pem\n' >"$dir/etc/systemd/system.conf.d/lab-edge-ca.conf"
    { grep -v '^NODE_EXTRA_CA_CERTS=' "$dir/etc/environment" 2>/dev/null || true; echo "NODE_EXTRA_CA_CERTS=/etc/wirebot-lab/edge-ca.pem"; } >"$dir/etc/environment.lab"
    mv "$dir/etc/environment.lab" "$dir/etc/environment"
    if [ ! -f "$dir/etc/ssh/ssh_host_ed25519_key" ]; then
        ssh-keygen -q -t ed25519 -N '' -C "root@wb-$name" -f "$dir/etc/ssh/ssh_host_ed25519_key"
    fi
    printf 'HostKey /etc/ssh/ssh_host_ed25519_key\nPasswordAuthentication no\nPermitRootLogin prohibit-password\nUseDNS no\n' >"$dir/etc/ssh/sshd_config.d/10-lab.conf"
    mkdir -p "$dir/root/.ssh"
    cp "$STATE/id_ed25519.pub" "$dir/root/.ssh/authorized_keys"
    chmod 700 "$dir/root/.ssh"
    chmod 600 "$dir/root/.ssh/authorized_keys"
    # The address is configured from outside, in the host's namespace: nothing in
    # the host manages the network, so network-online.target is reached at once.
    rm -f "$dir/etc/systemd/network/"*.network
    rm -f "$dir/etc/systemd/system/multi-user.target.wants/systemd-networkd.service" \
        "$dir/etc/systemd/system/network-online.target.wants/systemd-networkd-wait-online.service"
    ln -sf /dev/null "$dir/etc/systemd/system/systemd-networkd-wait-online.service"
    # The hosts reach the lab subnet only: no default route and no resolver, so
    # a connector that looks for Cloudflare's edge fails at once, inside its host.
    rm -f "$dir/etc/resolv.conf"
    echo "nameserver 127.0.0.1" >"$dir/etc/resolv.conf"
    # The connector is the real cloudflared with the product's unit and config;
    # this drop-in only points it at the edge stand-in on the host's loopback
    # (standins/edge.py), which never answers, so it keeps retrying as against an
    # unreachable edge instead of exiting for want of DNS.
    mkdir -p "$dir/etc/systemd/system/cloudflared-wirebot.service.d"
    printf '[Service]\nEnvironment=TUNNEL_EDGE=127.0.0.1:7844\n' >"$dir/etc/systemd/system/cloudflared-wirebot.service.d/lab-edge.conf"
    printf '[Unit]\nDescription=Lab stand-in for Cloudflare'"'"'s edge (never answers)\n[Service]\nExecStart=/usr/bin/python3 /opt/wirebot-lab/edge.py\nRestart=always\n[Install]\nWantedBy=multi-user.target\n' \
        >"$dir/etc/systemd/system/wirebot-lab-edge.service"
    ln -sf /etc/systemd/system/wirebot-lab-edge.service "$dir/etc/systemd/system/multi-user.target.wants/wirebot-lab-edge.service"
    mkdir -p "$dir/opt/wirebot-lab"
    cp "$LAB_DIR"/standins/*.py "$dir/opt/wirebot-lab/" 2>/dev/null || true
    # The gateway is the real OpenClaw, as an operator installs it: the tree from
    # `tools.sh install openclaw` at /opt/openclaw (mounted read-only at boot, not
    # copied: it is 800 MB) and /usr/bin/openclaw, which the product's unit runs
    # as it is. Its config (~wirebot/.openclaw/openclaw.json, the operator's part)
    # comes from this drop-in, since the product makes the wirebot user later.
    # lab/openclaw.json: local mode on loopback without auth, the OpenAI-compatible
    # endpoint the drill's chat uses, and for a model the stand-in on the host's
    # loopback (standins/model.py), since the lab has no model and no internet.
    mkdir -p "$dir/opt/openclaw"
    ln -sfn /opt/openclaw/bin/openclaw "$dir/usr/bin/openclaw"
    mkdir -p "$dir/etc/wirebot-lab"
    cp "$LAB_DIR/openclaw.json" "$dir/etc/wirebot-lab/openclaw.json"
    mkdir -p "$dir/etc/systemd/system/openclaw-gateway.service.d"
    printf '[Service]\nExecStartPre=+/usr/bin/install -d -o wirebot -g wirebot -m 0700 /home/wirebot/.openclaw\nExecStartPre=+/usr/bin/install -o wirebot -g wirebot -m 0600 /etc/wirebot-lab/openclaw.json /home/wirebot/.openclaw/openclaw.json\n' \
        >"$dir/etc/systemd/system/openclaw-gateway.service.d/lab-config.conf"
    printf '[Unit]\nDescription=Lab stand-in for the gateway'"'"'s model (answers OK)\n[Service]\nExecStart=/usr/bin/python3 /opt/wirebot-lab/model.py\nRestart=always\n[Install]\nWantedBy=multi-user.target\n' \
        >"$dir/etc/systemd/system/wirebot-lab-model.service"
    ln -sf /etc/systemd/system/wirebot-lab-model.service "$dir/etc/systemd/system/multi-user.target.wants/wirebot-lab-model.service"
}

# The OpenClaw tree the hosts mount at /opt/openclaw.
openclaw_tree() {
    bash "$LAB_DIR/tools.sh" tree openclaw
}

network_up() {
    ip link show "$BRIDGE" >/dev/null 2>&1 || {
        ip link add "$BRIDGE" type bridge
        ip addr add "$BRIDGE_ADDR/24" dev "$BRIDGE"
        ip link set "$BRIDGE" up
    }
    local name addr ns
    for name in "${HOSTS[@]}"; do
        ns="wblab-$name"
        addr=$(address_of "$name")
        ip netns list | grep -qw "$ns" && continue
        ip link del "wbl-$name" 2>/dev/null || true
        ip netns add "$ns"
        ip link add "wbl-$name" type veth peer name eth0 netns "$ns"
        ip link set "wbl-$name" master "$BRIDGE" up
        ip -n "$ns" addr add "$addr/24" dev eth0
        ip -n "$ns" link set lo up
        ip -n "$ns" link set eth0 up
    done
}

# Bytes of a LAB_MEMORY_* value (0 for off).
memory_bytes() {
    local value=$1
    [ "$value" = off ] && { echo 0; return; }
    [[ $value =~ ^([1-9][0-9]*)([MmGg]?)$ ]] || die "a lab memory limit must be MiB, a size with an M or G suffix (2G, 2048M) or off, not '$value'"
    case "${BASH_REMATCH[2]}" in
    [Gg]) echo $((BASH_REMATCH[1] * 1024 * 1024 * 1024)) ;;
    *) echo $((BASH_REMATCH[1] * 1024 * 1024)) ;;
    esac
}

# The memory cgroup a host's processes run in, from its nspawn's pid: "v1 <dir>" or "v2 <dir>".
memory_cgroup_of() {
    local pid=$1 path
    path=$(awk -F: '$2 == "memory" { print $3 }' "/proc/$pid/cgroup" 2>/dev/null)
    if [ -n "$path" ] && [ -d "/sys/fs/cgroup/memory$path" ]; then echo "v1 /sys/fs/cgroup/memory${path%/}"; return; fi
    path=$(awk -F: '$1 == "0" { print $3 }' "/proc/$pid/cgroup" 2>/dev/null)
    if [ -n "$path" ] && [ -f "/sys/fs/cgroup${path%/}/memory.max" ]; then echo "v2 /sys/fs/cgroup${path%/}"; return; fi
    return 1
}

# Sets MEMORY_WRAP, the command boot() runs nspawn under, for a host's memory
# limit, and says what it applied. Whichever works here, in this order:
#  - systemd as PID 1: a transient scope with MemoryMax (nspawn --keep-unit
#    then runs the container in that scope);
#  - cgroup v1's memory controller (no systemd as PID 1, e.g. a container
#    runtime's init): a child group of this shell's own with
#    memory.limit_in_bytes, which nspawn and the container inherit;
#  - cgroup v2 with the memory controller and no systemd: a group at the root
#    with memory.max.
# Otherwise the host boots without a limit, and the log says why.
MEMORY_WRAP=()
# Runs "$@" in the cgroup directory $1 (its own pid moved in first, then exec).
# shellcheck disable=SC2016
CGROUP_ENTER='echo $$ >"$1/cgroup.procs" && shift && exec "$@"'
memory_limit() {
    local name=$1 setting bytes self dir
    MEMORY_WRAP=()
    case "$name" in primary) setting=$LAB_MEMORY_PRIMARY ;; *) setting=$LAB_MEMORY_STANDBY ;; esac
    bytes=$(memory_bytes "$setting")
    if [ "$bytes" = 0 ]; then
        log "$name: no memory limit (LAB_MEMORY_${name^^}=off)"
        return
    fi
    local mib=$((bytes / 1024 / 1024))
    if [ -d /run/systemd/system ] && command -v systemd-run >/dev/null; then
        MEMORY_WRAP=(systemd-run --scope --quiet --collect -p "MemoryMax=$bytes" --)
        log "$name: memory limit $mib MiB (a systemd scope with MemoryMax)"
        return
    fi
    self=$(awk -F: '$2 == "memory" { print $3 }' /proc/self/cgroup)
    if [ -n "$self" ] && [ -w "/sys/fs/cgroup/memory${self%/}" ]; then
        dir="/sys/fs/cgroup/memory${self%/}/wblab-$name"
        mkdir -p "$dir"
        # memory+swap may never be below memory: lifted first, so a limit raised since the last boot can be set.
        [ ! -f "$dir/memory.memsw.limit_in_bytes" ] || echo -1 >"$dir/memory.memsw.limit_in_bytes" 2>/dev/null || true
        echo "$bytes" >"$dir/memory.limit_in_bytes"
        if [ -f "$dir/memory.memsw.limit_in_bytes" ]; then
            echo "$bytes" >"$dir/memory.memsw.limit_in_bytes" 2>/dev/null || log "$name: could not bound swap as well (memory.memsw.limit_in_bytes)"
        fi
        MEMORY_WRAP=(sh -c "$CGROUP_ENTER" sh "$dir")
        log "$name: memory limit $mib MiB (cgroup v1 memory controller, $dir; no systemd as PID 1 here)"
        return
    fi
    if grep -qw memory /sys/fs/cgroup/cgroup.controllers 2>/dev/null; then
        grep -qw memory /sys/fs/cgroup/cgroup.subtree_control || echo +memory >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null || true
        dir=/sys/fs/cgroup/wblab-$name
        if mkdir -p "$dir" 2>/dev/null && [ -f "$dir/memory.max" ]; then
            echo "$bytes" >"$dir/memory.max"
            [ ! -f "$dir/memory.swap.max" ] || echo 0 >"$dir/memory.swap.max"
            MEMORY_WRAP=(sh -c "$CGROUP_ENTER" sh "$dir")
            log "$name: memory limit $mib MiB (cgroup v2, $dir; no systemd as PID 1 here)"
            return
        fi
    fi
    log "$name: WARNING: no memory limit applied: no systemd as PID 1, no writable cgroup v1 memory controller, no cgroup v2 memory controller; the host boots with this machine's memory"
}

# Limit, use, peak and OOM kills of a host's memory cgroup, one line. Use and
# peak count the page cache, which the kernel gives back under pressure;
# anon_mib is the processes' own memory (anonymous pages, shared memory).
memory_report() {
    local name=$1 pid cg kind dir
    pid=$(cat "$STATE/$name.pid" 2>/dev/null || true)
    if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then echo "$name: off"; return; fi
    if ! cg=$(memory_cgroup_of "$pid"); then echo "$name: no memory cgroup found"; return; fi
    read -r kind dir <<<"$cg"
    if [ "$kind" = v1 ]; then
        printf '%s: limit_mib=%s usage_mib=%s peak_mib=%s anon_mib=%s oom_kills=%s cgroup=%s\n' "$name" \
            "$(($(cat "$dir/memory.limit_in_bytes") / 1048576))" "$(($(cat "$dir/memory.usage_in_bytes") / 1048576))" \
            "$(($(cat "$dir/memory.max_usage_in_bytes") / 1048576))" "$(awk '$1 == "total_rss" || $1 == "total_shmem" { n += $2 } END { print int(n / 1048576) }' "$dir/memory.stat")" \
            "$(awk '$1 == "oom_kill" { print $2 }' "$dir/memory.oom_control")" "$dir"
    else
        local max peak
        max=$(cat "$dir/memory.max")
        [ "$max" = max ] || max=$((max / 1048576))
        peak=$(cat "$dir/memory.peak" 2>/dev/null || echo 0)
        printf '%s: limit_mib=%s usage_mib=%s peak_mib=%s anon_mib=%s oom_kills=%s cgroup=%s\n' "$name" "$max" \
            "$(($(cat "$dir/memory.current") / 1048576))" "$((peak / 1048576))" "$(awk '$1 == "anon" || $1 == "shmem" { n += $2 } END { print int(n / 1048576) }' "$dir/memory.stat")" \
            "$(awk '$1 == "oom_kill" { print $2 }' "$dir/memory.events")" "$dir"
    fi
}

boot() {
    local name=$1 dir="$STATE/machines/$1" tree
    tree=$(openclaw_tree) || die "no OpenClaw tree for the hosts' gateway: run \`bash lab/tools.sh install openclaw\`"
    memory_limit "$name"
    log "$name: booting"
    setsid "${MEMORY_WRAP[@]}" systemd-nspawn --boot --register=no --keep-unit --quiet \
        --directory="$dir" --machine="wb-$name" --hostname="wb-$name" \
        --network-namespace-path="/run/netns/wblab-$name" \
        --bind-ro="$tree:/opt/openclaw" \
        --capability=CAP_NET_ADMIN --resolv-conf=off --timezone=off --link-journal=no \
        >"$STATE/$name.console" 2>&1 </dev/null &
    echo $! >"$STATE/$name.pid"
}

ssh_opts() {
    echo -i "$STATE/id_ed25519" -o UserKnownHostsFile="$STATE/known_hosts" -o StrictHostKeyChecking=yes \
        -o BatchMode=yes -o ConnectTimeout=3 -o LogLevel=ERROR
}

wait_for_ssh() {
    local name=$1 addr deadline
    addr=$(address_of "$name")
    deadline=$((SECONDS + BOOT_TIMEOUT))
    # shellcheck disable=SC2046
    until ssh $(ssh_opts) "root@$addr" true 2>/dev/null; do
        if ! kill -0 "$(cat "$STATE/$name.pid")" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; then
            tail -n 30 "$STATE/$name.console" >&2 || true
            die "$name did not boot: no SSH on $addr within ${BOOT_TIMEOUT}s (console: $STATE/$name.console)"
        fi
        sleep 1
    done
    log "$name: up at $addr"
}

write_known_hosts() {
    : >"$STATE/known_hosts"
    for name in "${HOSTS[@]}"; do
        printf '%s %s\n' "$(address_of "$name")" "$(cut -d' ' -f1,2 "$STATE/machines/$name/etc/ssh/ssh_host_ed25519_key.pub")" >>"$STATE/known_hosts"
    done
}

stop_host() {
    local name=$1 pid
    pid=$(cat "$STATE/$name.pid" 2>/dev/null || true)
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        # Like pulling the plug: SIGKILL to the container's init ends its whole PID
        # namespace at once; nspawn itself would leave the container running.
        local init
        for init in $(pgrep -P "$pid"); do kill -KILL "$init" 2>/dev/null || true; done
        kill -KILL "$pid" 2>/dev/null || true
        local deadline=$((SECONDS + 15))
        while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.2; done
    fi
    rm -f "$STATE/$name.pid"
    # nspawn leaves mounts behind when killed.
    grep " $STATE/machines/$name" /proc/mounts | cut -d' ' -f2 | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
}

# The memory group memory_limit made for a host (cgroupfs only; a systemd scope goes by itself).
remove_memory_group() {
    local name=$1 self dir
    self=$(awk -F: '$2 == "memory" { print $3 }' /proc/self/cgroup)
    for dir in "/sys/fs/cgroup/memory${self%/}/wblab-$name" "/sys/fs/cgroup/wblab-$name"; do
        [ -d "$dir" ] || continue
        for _ in 1 2 3 4 5; do
            rmdir "$dir" 2>/dev/null && break
            sleep 0.5
        done
        [ ! -d "$dir" ] || log "could not remove $dir (processes left in it?)"
    done
}

# Container inits left by an earlier run that was killed hard: their root is one of
# the lab's machine directories, or a deleted one.
kill_stale_containers() {
    local pid root
    for pid in $(pgrep -x systemd 2>/dev/null; pgrep -f '^/usr/lib/systemd/systemd$' 2>/dev/null); do
        [ "$(ps -o ppid= -p "$pid" | tr -d ' ')" = 1 ] || continue
        root=$(readlink "/proc/$pid/root" 2>/dev/null) || continue
        case "$root" in
        "$STATE"/machines/* | "/ (deleted)") kill -KILL "$pid" 2>/dev/null && log "killed a stale lab host (pid $pid)" ;;
        esac
    done
}

down() {
    for name in "${HOSTS[@]}"; do stop_host "$name"; done
    kill_stale_containers
    for name in "${HOSTS[@]}"; do
        ip netns del "wblab-$name" 2>/dev/null || true
        ip link del "wbl-$name" 2>/dev/null || true
        remove_memory_group "$name"
    done
    ip link del "$BRIDGE" 2>/dev/null || true
    rm -rf "$STATE/machines"
    log "lab is down"
}

up() {
    if ! command -v debootstrap >/dev/null || ! command -v systemd-nspawn >/dev/null || ! command -v nft >/dev/null; then
        die "install debootstrap, systemd-container and nftables (apt-get install -y debootstrap systemd-container nftables)"
    fi
    trap 'log "interrupted: tearing down"; down; exit 130' INT TERM
    down >/dev/null 2>&1
    # Each booted systemd takes inotify instances; the kernel's default of 128 per
    # user runs out with two hosts beside a busy machine.
    if [ "$(cat /proc/sys/fs/inotify/max_user_instances)" -lt 1024 ]; then
        sysctl -qw fs.inotify.max_user_instances=1024
        log "raised fs.inotify.max_user_instances to 1024 for the hosts' systemd"
    fi
    mkdir -p "$STATE"
    [ -f "$STATE/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C wirebot-lab -f "$STATE/id_ed25519"
    edge_tls
    # The real gateway for the hosts (a cache hit after the first time).
    bash "$LAB_DIR/tools.sh" install openclaw || die "cannot install the OpenClaw tree for the hosts' gateway"
    local base
    base=$(rootfs)
    for name in "${HOSTS[@]}"; do prepare_host "$name" "$base"; done
    write_known_hosts
    network_up
    for name in "${HOSTS[@]}"; do boot "$name"; done
    for name in "${HOSTS[@]}"; do wait_for_ssh "$name" || { down; exit 1; }; done
    trap - INT TERM
    log "lab is up: primary $(address_of primary), standby $(address_of standby)"
}

print_env() {
    printf 'LAB_STATE_DIR=%q\n' "$STATE"
    printf 'LAB_SSH_KEY=%q\n' "$STATE/id_ed25519"
    printf 'LAB_KNOWN_HOSTS=%q\n' "$STATE/known_hosts"
    for name in "${HOSTS[@]}"; do
        local upper
        upper=$(tr '[:lower:]' '[:upper:]' <<<"$name")
        printf 'LAB_%s_ADDR=%s\n' "$upper" "$(address_of "$name")"
        printf 'LAB_%s_HOSTKEY=%q\n' "$upper" "$(cut -d' ' -f1,2 "$STATE/machines/$name/etc/ssh/ssh_host_ed25519_key.pub" 2>/dev/null)"
    done
}

# A table of the lab's own in each host's namespace that drops every packet to
# and from the peer: the two hosts lose each other while both still reach this
# machine (and the witness on it). The agents' WireGuard link runs between the
# same two addresses, so it is cut too. A blackhole route would not cut it:
# wireguard-go sends with the interface named (IP_PKTINFO), and the kernel then
# sends on-link whatever the routing table says.
link_rule() {
    local action=$1 name peer
    for name in primary standby; do
        if [ "$name" = primary ]; then peer=$(address_of standby); else peer=$(address_of primary); fi
        ip netns exec "wblab-$name" nft delete table inet wblab_partition 2>/dev/null || true
        if [ "$action" = cut ]; then
            ip netns exec "wblab-$name" nft -f - <<RULES
table inet wblab_partition {
    chain output { type filter hook output priority -10; policy accept; ip daddr $peer drop; }
    chain input { type filter hook input priority -10; policy accept; ip saddr $peer drop; }
}
RULES
        fi
    done
}

case "${1:-}" in
up) up ;;
down) down ;;
env) print_env ;;
status)
    for name in "${HOSTS[@]}"; do
        pid=$(cat "$STATE/$name.pid" 2>/dev/null || true)
        if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then echo "$name: running at $(address_of "$name")"; else echo "$name: off"; fi
    done
    ;;
ssh)
    [ "$#" -ge 2 ] || die "usage: hosts.sh ssh <primary|standby> [command]"
    addr=$(address_of "$2")
    shift 2
    # shellcheck disable=SC2046
    exec ssh $(ssh_opts) "root@$addr" "$@"
    ;;
memory)
    if [ -n "${2:-}" ]; then address_of "$2" >/dev/null && memory_report "$2"; else for name in "${HOSTS[@]}"; do memory_report "$name"; done; fi
    ;;
poweroff) address_of "${2:?host}" >/dev/null && stop_host "$2" && log "$2: powered off" ;;
poweron) address_of "${2:?host}" >/dev/null && boot "$2" && wait_for_ssh "$2" ;;
partition) link_rule cut && log "primary<->standby link cut" ;;
heal) link_rule heal && log "primary<->standby link restored" ;;
*) sed -n '2,14s/^# \{0,1\}//p' "$0" >&2; exit 64 ;;
esac
