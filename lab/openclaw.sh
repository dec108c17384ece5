#!/bin/sh
# The OpenClaw CLI from a self-contained tree (`tools.sh install openclaw`): the
# tree's own Node 24 runs the package's entry, whatever Node the host has (the
# gateway needs Node 24; Debian bookworm ships 18). It is the tree's bin/openclaw;
# on a host the tree is /opt/openclaw and /usr/bin/openclaw links here.
tree=$(dirname "$(dirname "$(readlink -f "$0")")")
exec "$tree/bin/node" "$tree/lib/node_modules/openclaw/openclaw.mjs" "$@"
