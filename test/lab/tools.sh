#!/usr/bin/env bash
# Builds the tools the lab and the tests use from their Go modules, into a cache
# outside the checkout keyed by version, so a second run (or CI in a fresh clone
# on the same machine) costs nothing.
#
#   tools.sh install [tool...]     build or reuse (default: every tool)
#   tools.sh path                  PATH fragment with the installed tools' bin dirs
#   tools.sh cross <litestream|cloudflared> <amd64|arm64>
#                                  build for linux/<arch>, print the binary's path
#
# Tools: actionlint litestream cloudflared pulumi pulumi-language-nodejs
# pulumi-resource-command. A tool already on PATH at the pinned version is used
# as it is. Binaries land in
#   ${XDG_CACHE_HOME:-~/.cache}/wirebot-failover/tools/<tool>-<version>/bin/
# and cross builds in .../<tool>-<version>/linux-<arch>/.
set -euo pipefail

CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/wirebot-failover/tools"

# The CLI and the language host come from one pulumi/pulumi release. npm has
# @pulumi/pulumi 3.270.0, but the Go module proxy our CI machines reach does not
# serve the pkg/v3 v3.270.0 zip; v3.274.1 is the nearest release it serves, and
# a CLI newer than the SDK is the combination Pulumi supports. Where the proxy
# serves it, LAB_PULUMI_VERSION=v3.270.0 builds the exact match.
PULUMI_VERSION="${LAB_PULUMI_VERSION:-v3.274.1}"
# Matches the @pulumi/command npm package.
COMMAND_VERSION=v1.2.1
LITESTREAM_VERSION=v0.5.18
ACTIONLINT_VERSION=v1.7.12
# cloudflared tags releases as YYYY.M.P, which is not semver, so the module
# proxy only knows pseudo-versions of it. This commit (2025-02-03, after the
# 2025.1.1 release) is the most recent one the proxy our CI machines reach
# serves; elsewhere set LAB_CLOUDFLARED_VERSION to a release tag (e.g.
# 2025.11.1) and the proxy resolves it to its commit.
CLOUDFLARED_VERSION="${LAB_CLOUDFLARED_VERSION:-v0.0.0-20250203150802-c19f9194281e}"

ALL_TOOLS=(actionlint litestream cloudflared pulumi pulumi-language-nodejs pulumi-resource-command)
CROSS_TOOLS=(litestream cloudflared)

log() { printf '[tools] %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# Sets, for one tool: MODULE, QUERY (what the proxy is asked for), VERSION (the
# cache key and what the binary reports), PKG, BIN, LDFLAGS, and TAG_MODULE when
# the release tag lives on another module of the same repository.
spec() {
    TAG_MODULE=""
    LDFLAGS=""
    case "$1" in
    actionlint)
        MODULE=github.com/rhysd/actionlint VERSION=$ACTIONLINT_VERSION
        PKG=$MODULE/cmd/actionlint BIN=actionlint
        ;;
    litestream)
        MODULE=github.com/benbjohnson/litestream VERSION=$LITESTREAM_VERSION
        PKG=$MODULE/cmd/litestream BIN=litestream
        LDFLAGS="-X main.Version=$VERSION"
        ;;
    cloudflared)
        MODULE=github.com/cloudflare/cloudflared VERSION=$CLOUDFLARED_VERSION
        PKG=$MODULE/cmd/cloudflared BIN=cloudflared
        LDFLAGS="-X main.Version=$VERSION"
        ;;
    pulumi)
        MODULE=github.com/pulumi/pulumi/pkg/v3 VERSION=$PULUMI_VERSION
        PKG=$MODULE/cmd/pulumi BIN=pulumi
        LDFLAGS="-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$VERSION"
        ;;
    pulumi-language-nodejs)
        MODULE=github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3 VERSION=$PULUMI_VERSION
        PKG=$MODULE BIN=pulumi-language-nodejs
        LDFLAGS="-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$VERSION"
        ;;
    pulumi-resource-command)
        # The provider is a nested module with no tags of its own: build it at
        # the commit the repository's v1.2.1 tag points to.
        MODULE=github.com/pulumi/pulumi-command/provider VERSION=$COMMAND_VERSION
        TAG_MODULE=github.com/pulumi/pulumi-command
        PKG=$MODULE/cmd/pulumi-resource-command BIN=pulumi-resource-command
        # Upstream's release build stamps the version without the leading v.
        LDFLAGS="-X github.com/pulumi/pulumi-command/provider/pkg/version.Version=${VERSION#v}"
        ;;
    *) return 1 ;;
    esac
    QUERY=$VERSION
}

known() {
    local tool=$1 t
    shift
    for t in "$@"; do [ "$t" = "$tool" ] && return 0; done
    return 1
}

# A tool already on PATH at the pinned version (a machine with Pulumi installed)
# is used rather than built. Prints where it is.
ambient() {
    local tool=$1 found out
    case "$tool" in
    pulumi-language-nodejs)
        # Version-less: trust it only where a Pulumi release put it, next to a
        # `pulumi` of the pinned version.
        found=$(command -v pulumi-language-nodejs 2>/dev/null) || return 1
        [ "$(dirname "$found")" = "$(dirname "$(command -v pulumi 2>/dev/null || echo /nonexistent/pulumi)")" ] || return 1
        out=$(pulumi version 2>/dev/null) || return 1
        [ "$out" = "$VERSION" ] || return 1
        ;;
    pulumi-resource-command)
        # The provider reports no version; the engine also finds it in its
        # plugin cache, where the directory name carries the version.
        found="${PULUMI_HOME:-$HOME/.pulumi}/plugins/resource-command-$VERSION/pulumi-resource-command"
        [ -x "$found" ] || return 1
        ;;
    *)
        found=$(command -v "$BIN" 2>/dev/null) || return 1
        case "$tool" in
        pulumi) out=$("$found" version 2>/dev/null) ;;
        litestream) out=$("$found" version 2>/dev/null) ;;
        actionlint) out=$("$found" -version 2>/dev/null | sed -n 1p) ;;
        cloudflared) out=$("$found" --version 2>/dev/null | awk '{print $3}') ;;
        esac || return 1
        [ "$out" = "$VERSION" ] || return 1
        ;;
    esac
    echo "$found"
}

# First value of a top-level or nested string field in `go mod download -json`
# output (one field per line).
json_field() {
    sed -n "/^[[:space:]]*\"$1\": \"/{s/^[[:space:]]*\"$1\": \"\(.*\)\",\{0,1\}\$/\1/;s/\\\\n/ /g;s/\\\\t//g;s/\\\\\"/\"/g;p;q;}"
}

# Asks the module proxy for module@query, into the module cache. Sets
# GOT_VERSION, GOT_GOMOD and GOT_HASH (the commit, when the proxy reports it).
fetch() {
    local tool=$1 module=$2 query=$3 json err
    json=$(cd "$WORK" && go mod download -json "$module@$query" 2>&1) || true
    err=$(json_field Error <<<"$json")
    GOT_VERSION=$(json_field Version <<<"$json")
    GOT_GOMOD=$(json_field GoMod <<<"$json")
    GOT_HASH=$(json_field Hash <<<"$json")
    if [ -n "$err" ] || [ -z "$GOT_GOMOD" ]; then
        log "$tool: the Go module proxy ($(go env GOPROXY)) does not give $module@$query:"
        log "  ${err:-$json}"
        return 1
    fi
}

# One module's replace or exclude directives, one per line, block syntax undone.
directives() {
    awk -v kind="$1" '
        { sub(/\/\/.*/, ""); sub(/[ \t]+$/, "") }
        $0 ~ "^" kind "[ \t]*\\(" { block = 1; next }
        block && /^[ \t]*\)/ { block = 0; next }
        block && NF { sub(/^[ \t]+/, ""); print; next }
        $1 == kind && $2 != "(" { sub("^" kind "[ \t]+", ""); print }
    ' "$2"
}

# `go install module/cmd@version` refuses modules whose go.mod has replace or
# exclude directives, because they apply only when the module is the main one.
# Build instead from a wrapper module that requires the tool's module and
# repeats them, so the build list is the one upstream builds with. A replace by
# a local path (`=> ../sdk`) points into the same repository: pin that module to
# the same release, for every version anything requires (upstream requires such
# siblings at placeholder versions that do not exist on the proxy).
write_wrapper() {
    local tool=$1 gomod=$2 sibling_query=$3 line old new
    {
        echo "module wirebot-failover.local/tools/$tool"
        echo
        echo "go $(go env GOVERSION | sed -n 's/^go\([0-9][0-9.]*\).*/\1/p' | grep . || echo 1.26)"
        echo
        echo "require $MODULE $GOT_VERSION"
        echo
        while IFS= read -r line; do
            read -r old _ <<<"$line"
            read -r new _ <<<"${line#*=>}"
            case "$new" in
            ./* | ../* | /*)
                fetch "$tool" "$old" "$sibling_query" >&2 || return 1
                echo "replace $old => $old $GOT_VERSION"
                ;;
            *) echo "replace $line" ;;
            esac
        done < <(directives replace "$gomod")
        directives exclude "$gomod" | sed 's/^/exclude /'
    } >"$WORK/go.mod.new"
    mv "$WORK/go.mod.new" "$WORK/go.mod"
}

# Runs a long command with its output in a log, a line a minute so CI logs show
# progress, and the log's tail if it fails.
run_logged() {
    local tool=$1 logfile=$2 started=$SECONDS next=60 status=0
    shift 2
    "$@" >"$logfile" 2>&1 &
    BUILD_PID=$!
    while kill -0 "$BUILD_PID" 2>/dev/null; do
        sleep 1
        if [ $((SECONDS - started)) -ge "$next" ]; then
            log "  still building $tool ($((SECONDS - started))s)"
            next=$((next + 60))
        fi
    done
    wait "$BUILD_PID" || status=$?
    BUILD_PID=""
    if [ "$status" -ne 0 ]; then
        log "$tool: build failed (exit $status); last lines of $logfile:"
        tail -n 25 "$logfile" | sed 's/^/    /' >&2
        return 1
    fi
}

in_dir() { cd "$1" && shift && exec "$@"; }

# Builds one tool for linux/<arch> (default: this machine) into <out>/<binary>.
build() {
    local tool=$1 out=$2 goarch=${3:-} query started gomod
    query=$QUERY
    started=$SECONDS
    log "building $tool $VERSION${goarch:+ for linux/$goarch} (cold builds take minutes)..."
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/wirebot-tools.XXXXXX")
    if [ -n "$TAG_MODULE" ]; then
        fetch "$tool" "$TAG_MODULE" "$VERSION" || return 1
        [ -n "$GOT_HASH" ] || { log "$tool: the proxy does not say which commit $TAG_MODULE@$VERSION is"; return 1; }
        query=$GOT_HASH
    fi
    fetch "$tool" "$MODULE" "$query" || return 1
    gomod=$GOT_GOMOD
    # Sibling modules of a pseudo-version come from the same commit.
    local sibling_query=$GOT_VERSION
    if [[ "$GOT_VERSION" =~ [0-9]{14}-([0-9a-f]{12})$ ]]; then sibling_query=${BASH_REMATCH[1]}; fi
    write_wrapper "$tool" "$gomod" "$sibling_query" || return 1
    mkdir -p "$out"
    # Static binaries: the lab copies them into hosts whose libc is not ours.
    # Written beside the target and renamed, so an interrupted build never
    # leaves a binary that a later run would reuse.
    local env=(CGO_ENABLED=0)
    PARTIAL="$out/.$BIN.partial.$$"
    [ -z "$goarch" ] || env+=(GOOS=linux "GOARCH=$goarch")
    run_logged "$tool" "$(dirname "$out")/build${goarch:+-$goarch}.log" \
        in_dir "$WORK" env "${env[@]}" go build -mod=mod -trimpath -ldflags "-s -w $LDFLAGS" -o "$PARTIAL" "$PKG" || return 1
    mv -f "$PARTIAL" "$out/$BIN"
    PARTIAL=""
    rm -rf "$WORK"
    WORK=""
    log "built $tool $VERSION in $((SECONDS - started))s: $out/$BIN"
}

cleanup() {
    if [ -n "${BUILD_PID:-}" ]; then kill "$BUILD_PID" 2>/dev/null || true; fi
    if [ -n "${WORK:-}" ]; then rm -rf "$WORK"; fi
    if [ -n "${PARTIAL:-}" ]; then rm -f "$PARTIAL"; fi
    WORK="" PARTIAL=""
}
trap cleanup EXIT
trap 'exit 130' INT TERM

need_go() {
    command -v go >/dev/null 2>&1 || die "go is not on PATH; the tools are built from Go modules (Go 1.26 or newer)"
}

install() {
    local tools=("$@") tool found failed=()
    [ "${#tools[@]}" -gt 0 ] || tools=("${ALL_TOOLS[@]}")
    for tool in "${tools[@]}"; do
        known "$tool" "${ALL_TOOLS[@]}" || die "unknown tool '$tool'; known: ${ALL_TOOLS[*]}"
    done
    for tool in "${tools[@]}"; do
        spec "$tool"
        if [ -x "$CACHE/$tool-$VERSION/bin/$BIN" ]; then
            continue
        elif found=$(ambient "$tool"); then
            log "$tool $VERSION: using $found"
            continue
        fi
        need_go
        build "$tool" "$CACHE/$tool-$VERSION/bin" || failed+=("$tool")
        cleanup
    done
    [ "${#failed[@]}" -eq 0 ] || die "not installed: ${failed[*]}"
}

path_fragment() {
    local tool dirs=()
    for tool in "${ALL_TOOLS[@]}"; do
        spec "$tool"
        if [ -x "$CACHE/$tool-$VERSION/bin/$BIN" ]; then dirs+=("$CACHE/$tool-$VERSION/bin"); fi
    done
    # Never an empty fragment: `PATH="$(tools.sh path):$PATH"` would then start
    # with ':', which puts the working directory on PATH.
    [ "${#dirs[@]}" -gt 0 ] || dirs=("$CACHE")
    (IFS=:; echo "${dirs[*]}")
}

cross() {
    local tool=${1:-} arch=${2:-} out
    if ! known "$tool" "${CROSS_TOOLS[@]}" || { [ "$arch" != amd64 ] && [ "$arch" != arm64 ]; }; then
        die "usage: tools.sh cross <litestream|cloudflared> <amd64|arm64>"
    fi
    spec "$tool"
    out="$CACHE/$tool-$VERSION/linux-$arch"
    if [ ! -x "$out/$BIN" ]; then
        need_go
        build "$tool" "$out" "$arch" || die "$tool for linux/$arch: not built"
    fi
    echo "$out/$BIN"
}

case "${1:-}" in
install) shift; install "$@" ;;
path) path_fragment ;;
cross) shift; [ "$#" -eq 2 ] || set -- "" ""; cross "$@" ;;
*) sed -n '2,15s/^# \{0,1\}//p' "$0" >&2; exit 64 ;;
esac
