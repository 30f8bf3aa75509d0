#!/usr/bin/env python3
"""A tiny stand-in for the Claude Code CLI (stream-json + control protocol), std lib only.

Used by tests/end_to_end.rs, which copies it into a temp dir as an executable named `claude`.
It records its argv in argv.json and every stdin line in stdin.jsonl (in its cwd), answers
`initialize`, and serves each user message by its content:

  DIE    write an error to stderr and exit 3 without a result
  NOISY  write a non-JSON line to stdout, then echo
  TOOL   send control requests (can_use_tool, hook_callback, mcp_message, an unknown subtype, and
         one request cancelled in the same write), collect the answers, and return them as the
         result text (JSON)
  SLOW   wait (up to 10 s) for an `interrupt` control request; answer it and end the turn with
         an error result (CLI 2.1.330 shape), or succeed if none comes
  HOOK   send a hook_callback for hook_0 and end the turn at once, without waiting for it
  BG     start a background task (CLI 2.1.81 shape: no origin, no uuid echo), finish the turn,
         let the task "run" 0.3 s (logging to events.log whether stdin was closed meanwhile),
         then emit the task_notification and the injected notification turn
  else   echo: system/init, an assistant text and a result "echo: <prompt>"

Exits 0 on stdin EOF. A prompt's content may be a string or text blocks (headless framing).

With `-p --output-format json` (print mode) the prompt is the last argument and stdin is not
read: an echo prints one JSON result object (pretty-printed, as JSON.stringify with indent
would; with --verbose one line holding [init, result]), DIE dies as above, PROSE prints a non-JSON line and exits 0, FAIL prints an error result
and exits 1. Every run records IS_SANDBOX in env.json.
"""
import json
import os
import select
import sys
import time

SESSION = "11111111-2222-4333-8444-555555555555"
buf = b""
eof = False


def read_line(timeout=None):
    """The next stdin line (bytes), b"" at EOF, None if nothing arrived within `timeout`."""
    global buf, eof
    while b"\n" not in buf:
        if eof:
            line, buf = buf, b""
            return line
        if timeout is not None and not select.select([0], [], [], timeout)[0]:
            return None
        chunk = os.read(0, 65536)
        if not chunk:
            eof = True
        buf += chunk
    line, buf = buf.split(b"\n", 1)
    return line + b"\n"


def eof_within(seconds):
    """Keeps reading (and buffering) stdin for `seconds`; True if EOF arrived meanwhile."""
    global buf, eof
    end = time.monotonic() + seconds
    while not eof:
        left = end - time.monotonic()
        if left <= 0 or not select.select([0], [], [], left)[0]:
            break
        chunk = os.read(0, 65536)
        if not chunk:
            eof = True
        buf += chunk
    return eof


def next_message(timeout=None):
    """The next stdin message as a dict; "EOF" at end of input; None on timeout."""
    while True:
        line = read_line(timeout)
        if line is None:
            return None
        if line == b"":
            return "EOF"
        with open("stdin.jsonl", "ab") as log:
            log.write(line if line.endswith(b"\n") else line + b"\n")
        if line.strip():
            return json.loads(line)


def out(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def init():
    out({"type": "system", "subtype": "init", "session_id": SESSION, "tools": ["Bash"],
         "model": "fake", "claude_code_version": "2.1.81", "uuid": "init-uuid"})


def say(text):
    out({"type": "assistant", "message": {"role": "assistant", "model": "fake",
         "content": [{"type": "text", "text": text}]}, "parent_tool_use_id": None,
         "session_id": SESSION, "uuid": "assistant-uuid"})


def result(text):
    out({"type": "result", "subtype": "success", "is_error": False, "duration_ms": 1,
         "duration_api_ms": 1, "num_turns": 1, "result": text, "session_id": SESSION})


def control_turn():
    init()
    requests = [
        # Cancelled in the same write, before anything else: it must get no answer at all.
        ("cr-0", {"subtype": "can_use_tool", "tool_name": "Bash", "input": {"command": "ls"}}),
        ("cr-1", {"subtype": "can_use_tool", "tool_name": "Bash", "tool_use_id": "toolu_1",
                  "input": {"command": "sleep 1", "run_in_background": True}}),
        ("cr-2", {"subtype": "hook_callback", "callback_id": "hook_0", "input": {}}),
        ("cr-3", {"subtype": "mcp_message", "server_name": "mysdk",
                  "message": {"jsonrpc": "2.0", "id": 5, "method": "tools/list"}}),
        ("cr-4", {"subtype": "bogus_subtype"}),
    ]
    lines = [json.dumps({"type": "control_request", "request_id": rid, "request": req})
             for rid, req in requests]
    lines.insert(1, json.dumps({"type": "control_cancel_request", "request_id": "cr-0"}))
    sys.stdout.write("\n".join(lines) + "\n")  # one write: the supervisor reads it in one go
    sys.stdout.flush()
    answers = {}
    while not all(rid in answers for rid in ("cr-1", "cr-2", "cr-3", "cr-4")):
        msg = next_message(timeout=10)
        if msg is None or msg == "EOF":
            break
        if msg.get("type") == "control_response":
            rid = msg["response"]["request_id"]
            answers.setdefault(rid, []).append(msg["response"])
    text = json.dumps(answers, sort_keys=True)
    say(text)
    result(text)


def background_turn():
    init()
    out({"type": "system", "subtype": "task_started", "task_id": "b1", "tool_use_id": "toolu_B",
         "description": "sleep in bg", "task_type": "local_bash", "uuid": "u-ts", "session_id": SESSION})
    out({"type": "user", "message": {"role": "user", "content": [{"tool_use_id": "toolu_B",
         "type": "tool_result", "content": "Command running in background with ID: b1."}]},
         "parent_tool_use_id": None, "session_id": SESSION, "uuid": "u-tr",
         "tool_use_result": {"stdout": "", "stderr": "", "backgroundTaskId": "b1"}})
    say("started")
    result("started")
    closed = eof_within(0.3)
    with open("events.log", "a") as log:
        log.write("stdin closed while the task ran\n" if closed else "stdin open until the task finished\n")
    out({"type": "system", "subtype": "task_notification", "task_id": "b1", "status": "completed",
         "output_file": "/tmp/b1.output", "summary": "done", "session_id": SESSION, "uuid": "u-tn"})
    init()
    say("NOTIFIED")
    result("NOTIFIED")


def hook_turn():
    init()
    out({"type": "control_request", "request_id": "cr-late",
         "request": {"subtype": "hook_callback", "callback_id": "hook_0", "input": {}}})
    say("hooked")
    result("hooked")


def answer(request_msg, response=None):
    out({"type": "control_response", "response": {"subtype": "success",
         "request_id": request_msg["request_id"], "response": response or {}}})


def slow_turn():
    init()
    while True:
        msg = next_message(timeout=10)
        if msg is None or msg == "EOF":
            return result("nobody interrupted")
        if msg.get("type") != "control_request":
            continue
        if msg["request"].get("subtype") != "interrupt":
            answer(msg)
            continue
        answer(msg, {"still_queued": []})
        out({"type": "user", "message": {"role": "user", "content": [
             {"type": "text", "text": "[Request interrupted by user]"}]}, "session_id": SESSION})
        return out({"type": "result", "subtype": "error_during_execution", "is_error": True,
                    "duration_ms": 1, "duration_api_ms": 1, "num_turns": 1, "session_id": SESSION,
                    "errors": ["[ede_diagnostic] result_type=user"], "terminal_reason": "aborted_streaming"})


def serve(prompt):
    if prompt == "DIE":
        sys.stderr.write("fatal: read ECONNRESET\n")
        sys.stderr.flush()
        os._exit(3)
    if prompt == "TOOL":
        return control_turn()
    if prompt == "BG":
        return background_turn()
    if prompt == "HOOK":
        return hook_turn()
    if prompt == "SLOW":
        return slow_turn()
    if prompt == "NOISY":
        sys.stdout.write("[SandboxDebug] not json\n")
    init()
    say("echo: " + prompt)
    result("echo: " + prompt)


def text_of(content):
    if isinstance(content, str):
        return content
    return "".join(b.get("text", "") for b in content if b.get("type") == "text")


def print_mode(prompt):
    if prompt == "DIE":
        serve(prompt)
    if prompt == "PROSE":
        sys.stdout.write("echo: " + prompt + "\n")
        return 0
    failed = prompt == "FAIL"
    obj = {"type": "result", "subtype": "error_during_execution" if failed else "success",
           "is_error": failed, "duration_ms": 1, "num_turns": 1, "session_id": SESSION,
           "result": "API Error: 529 overloaded" if failed else "echo: " + prompt}
    if "--verbose" in sys.argv[1:]:
        # Every message as one JSON array line, as the real CLI's json --verbose.
        init = {"type": "system", "subtype": "init", "session_id": SESSION}
        sys.stdout.write(json.dumps([init, obj]) + "\n")
    else:
        sys.stdout.write(json.dumps(obj, indent=2) + "\n")
    return 1 if failed else 0


def main():
    with open("argv.json", "w") as f:
        json.dump(sys.argv[1:], f)
    with open("env.json", "w") as f:
        json.dump({"IS_SANDBOX": os.environ.get("IS_SANDBOX")}, f)
    args = sys.argv[1:]
    if "-p" in args and args[args.index("--output-format") + 1] == "json":
        return print_mode(args[-1])
    while True:
        msg = next_message()
        if msg == "EOF":
            return 0
        if msg.get("type") == "control_request" and msg["request"].get("subtype") == "initialize":
            answer(msg, {"commands": [], "pid": os.getpid()})
        elif msg.get("type") == "control_request":
            answer(msg)
        elif msg.get("type") == "user":
            serve(text_of(msg["message"]["content"]))


if __name__ == "__main__":
    sys.exit(main())
