// Adapter: drives the TypeScript Claude Agent SDK (@anthropic-ai/claude-agent-sdk) through a
// harness drive plan. Contract: docs/adapters.md. HARNESS_CLI is passed as
// pathToClaudeCodeExecutable; the JSONL report goes to stdout.
//
// It uses the SDK as its docs show: one query() whose prompt is an async generator of user
// messages (streaming input) — a new query() with `resume` for a plan turn that resumes. The SDK has no per-turn iterator, so — like its users — the adapter
// takes the next `result` after a prompt as that prompt's answer, then sends the next prompt.
// Permission requests are allowed unchanged (a pass-through policy); the plan's hooks are
// registered; both take the plan's delay or throw its failure. No workarounds are added.
import { readFileSync } from "node:fs";
import { query } from "@anthropic-ai/claude-agent-sdk";

const emit = (o) => process.stdout.write(JSON.stringify(o) + "\n");

function surfaced(m) {
  const out = { type: m.type };
  if (m.subtype) out.subtype = m.subtype;
  const content = m.message?.content;
  if (Array.isArray(content)) {
    const texts = content.filter((b) => typeof b?.text === "string").map((b) => b.text);
    if (texts.length) out.text = texts.join("");
  } else if (typeof content === "string") out.text = content;
  if (m.type === "result" && typeof m.result === "string") out.text = m.result;
  if (m.uuid) out.uuid = m.uuid;
  if (m.origin) out.origin = m.origin;
  return out;
}

function turnRecord(index, messages, { error = null, timedOut = false, interrupted = false } = {}) {
  const result = [...messages].reverse().find((m) => m.type === "result");
  const rec = { type: "turn", index, output: null, error: null, messages: messages.map(surfaced) };
  if (timedOut) Object.assign(rec, { status: "timeout", error: error ?? "no result before the turn timeout" });
  else if (!result) Object.assign(rec, { status: "failed", error: error ?? "the SDK ended without a result" });
  else if (interrupted && result.subtype === "error_during_execution")
    Object.assign(rec, { status: "aborted", error: (result.errors ?? []).join("; ") || null });
  else if (result.is_error)
    Object.assign(rec, { status: "failed", error: (result.result ?? (result.errors ?? []).join("; ")) + (error ? ` (${error})` : "") });
  else Object.assign(rec, { status: "completed", output: result.result, error });
  return rec;
}

async function main() {
  const cli = process.env.HARNESS_CLI;
  const planPath = process.env.HARNESS_PLAN;
  if (!cli || !planPath) {
    console.error("adapter: HARNESS_CLI and HARNESS_PLAN must be set");
    process.exit(2);
  }
  const plan = JSON.parse(readFileSync(planPath, "utf8"));
  const timeoutMs = plan.turn_timeout_ms ?? 10000;
  const turns = plan.mode === "multi_turn" ? plan.turns : plan.turns.slice(0, 1);

  // The user's callbacks, with the plan's behaviour: a delay, or a throw.
  const behave = async (b = {}) => {
    await new Promise((r) => setTimeout(r, b.delay_ms ?? 0));
    if (b.fail) throw new Error(b.fail);
  };
  const hooks = {};
  for (const h of plan.hooks ?? []) {
    (hooks[h.event] ??= []).push({
      matcher: h.matcher ?? undefined,
      hooks: [async () => { await behave(h); return { ...(h.answer ?? {}) }; }],
    });
  }

  // One query() (one CLI process) per segment of turns: a `resume` turn starts a new one that
  // resumes the session the CLI reported, with the SDK's `resume` option.
  const segments = [];
  turns.forEach((turn, i) => {
    if (i === 0 || turn.resume) segments.push({ start: i, turns: [] });
    segments.at(-1).turns.push(turn);
  });
  let sessionId;
  try {
    for (const [k, segment] of segments.entries()) {
      const seen = await runSegment(segment, k > 0 ? sessionId : undefined);
      sessionId = seen.sessionId ?? sessionId;
      // A turn that broke the stream ends the run — unless it was its process's last: the next
      // segment resumes the session in a new one.
      if (seen.stopped && !seen.reportedAll) break;
    }
    emit({ type: "end", status: "ok", error: null, cli_exit_code: null, cli_signal: null });
  } catch (e) {
    emit({ type: "end", status: "error", error: String(e?.message ?? e), cli_exit_code: null, cli_signal: null });
  }

  async function runSegment(segment, resume) {
    const segTurns = segment.turns;
    let seenSession;
    // The generator yields prompt i only after turns 0..i-1 ended (their results arrived) — or
    // at once when the user submits it while the previous turn runs (`overlap`).
    let ended = 0;
    const waiters = [];
    const turnDone = (all = false) => {
      ended = all ? segTurns.length : ended + 1;
      waiters.splice(0).forEach((wake) => wake());
    };
    const endedAtLeast = async (n) => {
      while (ended < n) await new Promise((wake) => waiters.push(wake));
    };
    async function* prompts() {
      for (let i = 0; i < segTurns.length; i++) {
        if (i > 0 && !segTurns[i].overlap) await endedAtLeast(i);
        yield { type: "user", session_id: "", parent_tool_use_id: null,
                message: { role: "user", content: [{ type: "text", text: segTurns[i].prompt }] } };
      }
    }
    const q = query({
      prompt: prompts(),
      options: {
        pathToClaudeCodeExecutable: cli,
        canUseTool: async (_tool, input) => {
          await behave(plan.can_use_tool);
          return { behavior: "allow", updatedInput: input };
        },
        ...(plan.hooks?.length ? { hooks } : {}),
        ...(resume ? { resume } : {}),
      },
    });
    const it = q[Symbol.asyncIterator]();
    let stopped = false;
    let reported = 0;
    for (let k = 0; k < segTurns.length; k++) {
      const index = segment.start + k;
      const messages = [];
      const flags = { interrupted: false };
      const timers = (segTurns[k].actions ?? []).map((a) =>
        setTimeout(async () => {
          try {
            if (a.kind === "interrupt") { flags.interrupted = true; await q.interrupt(); }
            else if (a.kind === "set_permission_mode") await q.setPermissionMode(a.mode);
            else if (a.kind === "set_model") await q.setModel(a.model);
            else if (a.kind === "stop_task" && q.stopTask) await q.stopTask(a.task_id);
            else emit({ type: "event", name: "unsupported_action", data: a });
          } catch (e) { emit({ type: "event", name: "action_failed", data: { kind: a.kind, error: String(e) } }); }
        }, a.after_ms ?? 0));
      let deadline;
      const timeout = new Promise((_, rej) => (deadline = setTimeout(() => rej(new Error("timeout")), timeoutMs)));
      try {
        for (;;) {
          const next = await Promise.race([it.next(), timeout]);
          if (next.done) break;
          messages.push(next.value);
          if (typeof next.value.session_id === "string" && next.value.session_id) seenSession = next.value.session_id;
          if (next.value.type === "result") break;
        }
        emit(turnRecord(index, messages, { interrupted: flags.interrupted }));
        reported++;
      } catch (e) {
        const timedOut = e?.message === "timeout";
        emit(turnRecord(index, messages, { error: String(e?.message ?? e), timedOut }));
        reported++;
        stopped = true;
        break;
      } finally {
        clearTimeout(deadline);
        timers.forEach(clearTimeout);
      }
      turnDone();
    }
    // Drain whatever follows (the SDK ends the stream when the CLI exits).
    turnDone(true);
    const tail = await Promise.race([
      (async () => { for (;;) { const n = await it.next(); if (n.done) return; } })(),
      new Promise((r) => setTimeout(r, timeoutMs)),
    ]).catch((e) => emit({ type: "event", name: "stream_error", data: { error: String(e?.message ?? e) } }));
    void tail;
    return { stopped, reportedAll: reported === segTurns.length, sessionId: seenSession };
  }
  // Exit only once stdout has taken the whole report: writes to a pipe are asynchronous in Node,
  // and exiting at once would cut a multi-MB report line short.
  process.stdout.write("", () => process.exit(0));
}

main();
