#!/bin/sh
# Setup for ts-sdk: install the pinned SDK into CACHE (npm ci from the lock file, no optional
# dependencies: the platform CLI binaries are never downloaded) and copy the adapter next to its
# node_modules so Node resolves the package from there.
set -eu
cache="$1"
here="$(cd "$(dirname "$0")" && pwd)"
mkdir -p "$cache"
cp "$here/package.json" "$here/package-lock.json" "$here/adapter.mjs" "$here/parse_check.mjs" "$cache/"
cd "$cache"
npm ci --omit=optional --no-audit --no-fund --loglevel=error
node -e "console.log('claude-agent-sdk', require('./node_modules/@anthropic-ai/claude-agent-sdk/package.json').version)"
