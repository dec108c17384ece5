#!/bin/sh
# Installs a binary for this host's architecture from a pinned URL or from a
# staged copy, after checking its sha256 and that the host can run it.
: "${NAME:?}" "${ARCH:?}" "${SHA256:?}" "${SOURCE:?}"
TARGET="/usr/local/bin/$NAME"
STAGED="/var/lib/wirebot-failover/staging/$NAME-$SHA256"

host_arch() {
    case "$(uname -m)" in
    x86_64) echo amd64 ;;
    aarch64 | arm64) echo arm64 ;;
    *) uname -m ;;
    esac
}

fetch() {
    mkdir -p "$(dirname "$STAGED")"
    case "$SOURCE" in
    https://*)
        echo "downloading $NAME from $SOURCE"
        curl -fsSL --retry 3 --max-time 300 -o "$STAGED.download" "$SOURCE"
        ;;
    *) cp "$SOURCE" "$STAGED.download" ;;
    esac
    echo "$SHA256  $STAGED.download" | sha256sum -c --quiet - || {
        echo "$NAME: checksum mismatch for $SOURCE (expected $SHA256)" >&2
        rm -f "$STAGED.download"
        exit 1
    }
    case "$SOURCE" in
    *.tar.gz | *.tgz)
        dir=$(mktemp -d)
        tar -xzf "$STAGED.download" -C "$dir"
        found=$(find "$dir" -type f -name "$NAME" | head -n 1)
        [ -n "$found" ] || { echo "$NAME: not found inside $SOURCE" >&2; exit 1; }
        mv "$found" "$STAGED"
        rm -rf "$dir" "$STAGED.download"
        ;;
    *) mv "$STAGED.download" "$STAGED" ;;
    esac
}

step_create() {
    if [ "$(host_arch)" != "$ARCH" ]; then
        echo "$NAME: this host is $(host_arch) but the binary is for $ARCH" >&2
        exit 1
    fi
    [ -f "$STAGED" ] || fetch
    install -m 0755 -o root -g root "$STAGED" "$TARGET"
    echo "installed $TARGET ($ARCH, sha256 $SHA256)"
}

step_delete() {
    rm -f "$TARGET" "$STAGED"
    case "$SOURCE" in
    /var/lib/wirebot-failover/upload/*) rm -f "$SOURCE" ;;
    esac
    echo "removed $TARGET"
}
