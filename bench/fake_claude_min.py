#!/usr/bin/env python3
"""A minimal Python stand-in for the Claude Code CLI: the common alternative to fake-claude.

It plays the one-turn session bench/run measures: answers `initialize` with a control_response,
answers each user message with system/init, one assistant message and a result, and exits 0 when
stdin closes. No scenario language, no transcript: the least a hand-written fake does.
"""
import json
import sys
import uuid

SESSION = str(uuid.uuid4())


def send(msg):
    sys.stdout.write(json.dumps(msg, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def main():
    turn = 0
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            msg = json.loads(line)
        except ValueError:
            continue
        kind = msg.get("type")
        if kind == "control_request":
            send({"type": "control_response",
                  "response": {"subtype": "success", "request_id": msg.get("request_id"),
                               "response": {"commands": [], "models": [], "account": {}}}})
        elif kind == "user":
            turn += 1
            send({"type": "system", "subtype": "init", "session_id": SESSION, "tools": ["Bash"],
                  "model": "claude-opus-5-5", "permissionMode": "default", "cwd": "/"})
            send({"type": "assistant", "session_id": SESSION, "parent_tool_use_id": None,
                  "message": {"id": "msg_%03d" % turn, "type": "message", "role": "assistant",
                              "model": "claude-opus-5-5",
                              "content": [{"type": "text", "text": "Reply to prompt %d." % turn}],
                              "stop_reason": None, "usage": {"input_tokens": 10, "output_tokens": 5}}})
            send({"type": "result", "subtype": "success", "is_error": False, "duration_ms": 1,
                  "num_turns": 1, "result": "Reply to prompt %d." % turn, "session_id": SESSION,
                  "total_cost_usd": 0.0, "usage": {"input_tokens": 10, "output_tokens": 5}})
    return 0


if __name__ == "__main__":
    sys.exit(main())
