"""Runs messages through the Python Agent SDK's own message parser.

Usage: python parse_check.py MESSAGES.jsonl
Each line is one message fake-claude wrote. Control frames are routed by the SDK's Query before
parsing, so they are skipped here; everything else goes through
claude_agent_sdk._internal.message_parser.parse_message, the strict part of the SDK (a missing
required key raises MessageParseError, which ends a consumer's iteration). Prints a JSON summary;
exits 1 if any message fails to parse.
"""

import json
import sys

import claude_agent_sdk
from claude_agent_sdk._internal.message_parser import parse_message

ROUTED_BEFORE_PARSING = {"control_request", "control_response", "control_cancel_request", "keep_alive"}


def main():
    failures, parsed, skipped = [], 0, 0
    with open(sys.argv[1], encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            msg = json.loads(line)
            if msg.get("type") in ROUTED_BEFORE_PARSING:
                skipped += 1
                continue
            try:
                parse_message(msg)
                parsed += 1
            except Exception as e:  # noqa: BLE001 - every failure is reported
                failures.append({"line": n, "type": msg.get("type"), "subtype": msg.get("subtype"),
                                 "error": f"{type(e).__name__}: {e}"[:500]})
    print(json.dumps({"sdk_version": claude_agent_sdk.__version__, "parsed": parsed,
                      "skipped": skipped, "failures": failures}))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
