#!/bin/sh
# Setup for python-sdk@VERSION: a venv in CACHE with claude-agent-sdk==VERSION installed from its
# source distribution (--no-binary), so the CLI bundled in the wheels is never downloaded.
set -eu
version="$1"
cache="$2"
rm -rf "$cache/venv"
python3 -m venv "$cache/venv"
"$cache/venv/bin/pip" install --quiet --disable-pip-version-check \
  --no-binary claude-agent-sdk "claude-agent-sdk==$version"
"$cache/venv/bin/python" -c "import claude_agent_sdk, sys; print('claude_agent_sdk', claude_agent_sdk.__version__)"
