#!/usr/bin/env bash
# Builds the tools the lab and the tests use from their Go modules, into a cache
# outside the checkout keyed by version, so a second run (or CI in a fresh clone
# on the same machine) costs nothing.
#
#   tools.sh install [tool...]     build or reuse (default: every tool)
#   tools.sh path                  PATH fragment with every installed tool
#   tools.sh cross <tool> <arch>   build litestream or cloudflared for linux/<arch>
set -euo pipefail

CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/wirebot-failover/tools"
PULUMI_VERSION=v3.274.1
ALL_TOOLS=(actionlint litestream pulumi pulumi-language-nodejs pulumi-resource-command cloudflared)

# name | module version | package | binary | link flags
spec() {
    case "$1" in
    actionlint) echo "github.com/rhysd/actionlint v1.7.12 github.com/rhysd/actionlint/cmd/actionlint actionlint" ;;
    litestream) echo "github.com/benbjohnson/litestream v0.5.18 github.com/benbjohnson/litestream/cmd/litestream litestream -X main.Version=v0.5.18" ;;
    # The CLI matching @pulumi/pulumi 3.270.0 is not served by the module proxy;
    # v3.274.1 is the nearest that is, and speaks the same engine protocol.
    pulumi) echo "github.com/pulumi/pulumi/pkg/v3 $PULUMI_VERSION github.com/pulumi/pulumi/pkg/v3/cmd/pulumi pulumi -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION" ;;
    pulumi-language-nodejs) echo "github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3 $PULUMI_VERSION github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3 pulumi-language-nodejs" ;;
    pulumi-resource-command) echo "github.com/pulumi/pulumi-command/provider v1.2.1 github.com/pulumi/pulumi-command/provider/cmd/pulumi-resource-command pulumi-resource-command -X github.com/pulumi/pulumi-command/provider/pkg/version.Version=v1.2.1" ;;
    cloudflared) echo "github.com/cloudflare/cloudflared 2025.11.1 github.com/cloudflare/cloudflared/cmd/cloudflared cloudflared -X main.Version=2025.11.1" ;;
    *) echo "unknown tool $1; known: ${ALL_TOOLS[*]}" >&2; return 1 ;;
    esac
}

log() { printf '[tools] %s\n' "$*" >&2; }

# The module's own go.mod, for its non-local replace directives.
upstream_gomod() {
    local module=$1 version=$2 json
    # The proxy's own answer, not a fallback to a VCS that cannot be reached here.
    json=$(GOPROXY="$(go env GOPROXY | sed 's/,direct$//')" GOFLAGS=-mod=mod go mod download -json "$module@$version" 2>/dev/null || true)
    if ! grep -q '"Zip"' <<<"$json"; then
        local why
        why=$(sed -n 's/.*"Error": "\([^"]*\)".*/\1/p' <<<"$json" | head -n 1)
        log "cannot fetch $module@$version from the Go module proxy: ${why:-unknown error}"
        return 1
    fi
    sed -n 's/.*"GoMod": "\([^"]*\)".*/\1/p' <<<"$json"
}

# Modules with replace directives cannot be `go install`ed: build from a wrapper
# module that requires them and repeats their non-local replaces.
build() {
    local name=$1 goos=${2:-linux} goarch=${3:-$(go env GOARCH)}
    local module version package binary ldflags
    read -r module version package binary ldflags <<<"$(spec "$name")"
    local out="$CACHE/$name-$version/bin"
    [ "$goarch" = "$(go env GOARCH)" ] || out="$CACHE/$name-$version/linux-$goarch"
    if [ -x "$out/$binary" ]; then
        echo "$out/$binary"
        return 0
    fi
    local gomod work started
    gomod=$(upstream_gomod "$module" "$version") || return 1
    work=$(mktemp -d)
    {
        echo "module wirebot.local/tools/$name"
        echo
        echo "go 1.24"
        echo
        echo "require $module $version"
        grep -E '^replace .*=> [^.]' "$gomod" || true
        sed -n '/^replace (/,/^)/p' "$gomod" | grep -E '=> [^.]' | sed 's/^\s*/replace /' || true
    } >"$work/go.mod"
    printf '//go:build tools\n\npackage tools\n\nimport _ "%s"\n' "$package" >"$work/tools.go"
    started=$(date +%s)
    log "building $name $version for $goos/$goarch (a cold build takes minutes)..."
    (
        cd "$work"
        GOFLAGS=-mod=mod go mod tidy >"$work/tidy.log" 2>&1 || { tail -n 20 "$work/tidy.log" >&2; exit 1; }
        mkdir -p "$out"
        CGO_ENABLED=0 GOOS=$goos GOARCH=$goarch go build -trimpath -ldflags "-s -w $ldflags" -o "$out/$binary" "$package"
    ) || { log "building $name failed"; rm -rf "$work"; return 1; }
    rm -rf "$work"
    log "built $name in $(($(date +%s) - started))s: $out/$binary"
    echo "$out/$binary"
}

on_path_at_version() {
    local binary=$1 version=$2
    command -v "$binary" >/dev/null 2>&1 && "$binary" version 2>/dev/null | grep -q "${version#v}"
}

install() {
    local tools=("$@") failed=()
    [ "${#tools[@]}" -gt 0 ] || tools=("${ALL_TOOLS[@]}")
    for tool in "${tools[@]}"; do
        local module version package binary
        read -r module version package binary _ <<<"$(spec "$tool")"
        if on_path_at_version "$binary" "$version"; then
            log "$tool $version: using $(command -v "$binary")"
            continue
        fi
        build "$tool" >/dev/null || failed+=("$tool")
    done
    if [ "${#failed[@]}" -gt 0 ]; then
        log "not installed: ${failed[*]}"
        return 1
    fi
}

path_fragment() {
    local dirs=()
    for dir in "$CACHE"/*/bin; do [ -d "$dir" ] && dirs+=("$dir"); done
    (IFS=:; echo "${dirs[*]}")
}

case "${1:-}" in
install) shift; install "$@" ;;
path) path_fragment ;;
cross)
    [ "$#" -eq 3 ] || { echo "usage: tools.sh cross <litestream|cloudflared> <amd64|arm64>" >&2; exit 64; }
    build "$2" linux "$3"
    ;;
*) sed -n '2,9s/^# \{0,1\}//p' "$0" >&2; exit 64 ;;
esac
