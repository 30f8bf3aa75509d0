"""Adapter: drives the Python Claude Agent SDK (claude_agent_sdk) through a harness drive plan.

Contract: docs/adapters.md. The harness sets HARNESS_CLI (the fake `claude` to use as cli_path)
and HARNESS_PLAN (the drive plan); this prints the JSONL report on stdout. It uses the SDK the way
its documentation shows: ClaudeSDKClient with query() + receive_response() per turn for multi-turn
plans, and query() for one-shot plans, with a can_use_tool callback that allows every tool call
unchanged (a pass-through permission policy) and the plan's hooks registered as HookMatchers;
both take the plan's delay or throw its failure. What the SDK gets wrong shows up in the report;
the adapter itself adds no workarounds.
"""

import asyncio
import json
import os
import sys
import traceback

from claude_agent_sdk import ClaudeAgentOptions, ClaudeSDKClient, HookMatcher, query
from claude_agent_sdk.types import PermissionResultAllow

OUT = sys.stdout


def emit(obj):
    OUT.write(json.dumps(obj, ensure_ascii=False) + "\n")
    OUT.flush()


def surfaced(msg):
    """The report's view of an SDK message: wire type, subtype, text, uuid, origin."""
    name = type(msg).__name__
    out = {"sdk_type": name}
    kind = {
        "AssistantMessage": "assistant",
        "UserMessage": "user",
        "ResultMessage": "result",
        "StreamEvent": "stream_event",
    }.get(name, "system" if "System" in name or "Task" in name else name)
    out["type"] = kind
    subtype = getattr(msg, "subtype", None)
    if subtype:
        out["subtype"] = subtype
    content = getattr(msg, "content", None)
    if isinstance(content, list):
        texts = [getattr(b, "text", None) for b in content]
        texts = [t for t in texts if isinstance(t, str)]
        if texts:
            out["text"] = "".join(texts)
    elif isinstance(content, str):
        out["text"] = content
    if kind == "result" and isinstance(getattr(msg, "result", None), str):
        out["text"] = msg.result
    for attr in ("uuid", "origin"):
        v = getattr(msg, attr, None)
        if v is not None:
            out[attr] = v if isinstance(v, (str, dict, list, int, float, bool)) else str(v)
    return out


def describe(e):
    """An exception as text; exception groups (anyio task groups) show what they carry."""
    subs = getattr(e, "exceptions", None)
    if subs:
        return "; ".join(describe(s) for s in subs)
    return f"{type(e).__name__}: {e}"


def turn_record(index, messages, error=None, timed_out=False, interrupted=False):
    # The turn's answer is the first result: receive_response() ends there, and for query() it
    # is the result of the prompt's own turn; later ones (injected turns) are reported as events.
    results = [m for m in messages if type(m).__name__ == "ResultMessage"]
    result = results[0] if results else None
    for extra in results[1:]:
        emit({"type": "event", "name": "extra_result", "data": surfaced(extra)})
    rec = {"type": "turn", "index": index, "output": None, "error": None,
           "messages": [surfaced(m) for m in messages]}
    if timed_out:
        rec["status"] = "timeout"
        rec["error"] = error or "no result before the turn timeout"
    elif error is not None and result is None:
        rec["status"] = "failed"
        rec["error"] = error
    elif result is None:
        rec["status"] = "failed"
        rec["error"] = "the SDK ended the turn without a result"
    elif interrupted and result.subtype == "error_during_execution":
        rec["status"] = "aborted"
        rec["error"] = "; ".join(getattr(result, "errors", None) or []) or None
    elif result.is_error:
        rec["status"] = "failed"
        rec["error"] = result.result or "; ".join(getattr(result, "errors", None) or []) or result.subtype
        if error:
            rec["error"] += f" ({error})"
    else:
        rec["status"] = "completed"
        rec["output"] = result.result
        if error:
            # The result arrived, then the SDK raised (e.g. the CLI's exit code): surface both.
            rec["error"] = error
    return rec


async def behave(behaviour):
    """A user callback's behaviour from the plan: take `delay_ms`, or throw with `fail`."""
    await asyncio.sleep(behaviour.get("delay_ms", 0) / 1000)
    if behaviour.get("fail"):
        raise RuntimeError(behaviour["fail"])


def permission_callback(behaviour):
    """The user's can_use_tool callback: allows every call unchanged (after the plan's delay)."""
    async def allow_all(tool_name, tool_input, context):
        await behave(behaviour)
        return PermissionResultAllow(updated_input=tool_input)
    return allow_all


def hook_callback(hook):
    """A hook the user registers: answers the plan's hook output (after its delay)."""
    async def callback(input_data, tool_use_id, context):
        await behave(hook)
        return dict(hook.get("answer") or {})
    return callback


def options(cli, plan, resume=None):
    hooks = {}
    for hook in plan.get("hooks") or []:
        hooks.setdefault(hook["event"], []).append(
            HookMatcher(matcher=hook.get("matcher"), hooks=[hook_callback(hook)]))
    return ClaudeAgentOptions(cli_path=cli, can_use_tool=permission_callback(plan.get("can_use_tool") or {}),
                              hooks=hooks or None, resume=resume)


def session_of(messages, known):
    """The session id the CLI reported in these messages (a result's, or the init's), else `known`."""
    for m in reversed(messages):
        sid = getattr(m, "session_id", None)
        if sid is None and isinstance(getattr(m, "data", None), dict):
            sid = m.data.get("session_id")
        if isinstance(sid, str) and sid and sid != "default":
            return sid
    return known


async def run_actions(client, actions, flags):
    for a in sorted(actions, key=lambda a: a.get("after_ms", 0)):
        await asyncio.sleep(a.get("after_ms", 0) / 1000)
        kind = a.get("kind")
        if kind == "interrupt":
            flags["interrupted"] = True
            await client.interrupt()
        elif kind == "set_permission_mode":
            await client.set_permission_mode(a.get("mode"))
        elif kind == "set_model":
            await client.set_model(a.get("model"))
        elif kind == "stop_task":
            await client.stop_task(a.get("task_id"))
        else:
            emit({"type": "event", "name": "unsupported_action", "data": a})


async def multi_turn(plan, cli, timeout):
    held = {"client": ClaudeSDKClient(options=options(cli, plan))}
    await held["client"].connect()
    try:
        await drive_turns(plan, cli, timeout, held)
    finally:
        await held["client"].disconnect()


async def drive_turns(plan, cli, timeout, held):
    turns = plan["turns"]
    sent = 0  # prompts written so far
    session = None  # the session id the CLI reported, for a resume
    for i, turn in enumerate(turns):
        messages, flags = [], {}
        if turn.get("resume"):
            # The application restarts the CLI for this prompt and resumes the session it was
            # given, as the SDK documents it: a new client with `resume=<session id>`.
            try:
                await held["client"].disconnect()
            except Exception as e:  # noqa: BLE001 - a dead CLI may not disconnect cleanly
                print(f"adapter: disconnect before resume: {describe(e)}", file=sys.stderr)
            held["client"] = ClaudeSDKClient(options=options(cli, plan, resume=session))
            await held["client"].connect()
        client = held["client"]
        actions = asyncio.create_task(run_actions(client, turn.get("actions", []), flags))
        try:
            # This prompt, and any the user submits while it runs (`overlap`), go out now;
            # receive_response() then reads one turn (up to its result) at a time.
            while sent <= i or (sent < len(turns) and turns[sent].get("overlap")):
                await client.query(turns[sent]["prompt"])
                sent += 1

            async def collect():
                async for m in client.receive_response():
                    messages.append(m)

            await asyncio.wait_for(collect(), timeout)
            emit(turn_record(i, messages, interrupted=flags.get("interrupted", False)))
        except asyncio.TimeoutError:
            emit(turn_record(i, messages, timed_out=True))
            for j in range(i + 1, len(plan["turns"])):
                emit({"type": "turn", "index": j, "status": "failed", "output": None,
                      "error": f"prompt not sent: turn {i + 1} timed out", "messages": []})
            return
        except Exception as e:  # the SDK raises into the iterator: that is the turn's error
            # Like a user, go on with the same client: whether the session survives the
            # error is part of what the scenario tests.
            emit(turn_record(i, messages, error=describe(e)))
        finally:
            actions.cancel()
            session = session_of(messages, session)


async def one_shot(plan, cli, timeout):
    turn = plan["turns"][0]
    messages = []

    async def prompt_stream():
        yield {"type": "user", "message": {"role": "user", "content": turn["prompt"]},
               "parent_tool_use_id": None, "session_id": ""}

    async def collect():
        async for m in query(prompt=prompt_stream(), options=options(cli, plan)):
            messages.append(m)

    try:
        await asyncio.wait_for(collect(), timeout)
        emit(turn_record(0, messages))
    except asyncio.TimeoutError:
        emit(turn_record(0, messages, timed_out=True))
    except Exception as e:
        emit(turn_record(0, messages, error=describe(e)))


def main():
    cli = os.environ.get("HARNESS_CLI")
    plan_path = os.environ.get("HARNESS_PLAN")
    if not cli or not plan_path:
        print("adapter: HARNESS_CLI and HARNESS_PLAN must be set", file=sys.stderr)
        return 2
    with open(plan_path) as f:
        plan = json.load(f)
    timeout = plan.get("turn_timeout_ms", 10000) / 1000
    try:
        if plan.get("mode") == "multi_turn":
            asyncio.run(multi_turn(plan, cli, timeout))
        else:
            asyncio.run(one_shot(plan, cli, timeout))
        emit({"type": "end", "status": "ok", "error": None, "cli_exit_code": None, "cli_signal": None})
    except BaseException as e:  # noqa: BLE001 - the report must always end
        traceback.print_exc()
        emit({"type": "end", "status": "error", "error": describe(e),
              "cli_exit_code": None, "cli_signal": None})
    return 0


if __name__ == "__main__":
    sys.exit(main())
