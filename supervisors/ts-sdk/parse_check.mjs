// Runs messages through the TypeScript Agent SDK's real reading path.
//
// Usage: node parse_check.mjs MESSAGES.jsonl
// The TS SDK has no structural parser: its transport reads stdout line by line, JSON-parses each
// line, routes control frames and yields the rest. So the check is end to end: a tiny replay CLI
// (a .mjs file, which the SDK runs with node) prints the messages, and query() must yield every
// non-control message without throwing. Prints a JSON summary; exits 1 on any failure.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { query } from "@anthropic-ai/claude-agent-sdk";

const CONTROL = new Set(["control_request", "control_response", "control_cancel_request", "keep_alive"]);
const file = process.argv[2];
const messages = readFileSync(file, "utf8").split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l));
const replayable = messages.filter((m) => !CONTROL.has(m.type));

const dir = mkdtempSync(join(tmpdir(), "ts-parse-check-"));
const cli = join(dir, "replay-cli.mjs");
writeFileSync(cli, `
import { readFileSync } from "node:fs";
process.stdin.on("data", () => {});
// Exit once stdin is closed AND stdout has taken every line (pipe writes are asynchronous).
process.stdin.on("end", () => process.stdout.write("", () => process.exit(0)));
const lines = readFileSync(${JSON.stringify(file)}, "utf8").split("\\n").filter((l) => l.trim());
for (const l of lines) { const m = JSON.parse(l); if (!${JSON.stringify([...CONTROL])}.includes(m.type)) process.stdout.write(l + "\\n"); }
`);

let yielded = 0;
const failures = [];
try {
  for await (const m of query({ prompt: "parse check", options: { pathToClaudeCodeExecutable: cli } })) {
    yielded += 1;
    if (yielded >= replayable.length) break;
  }
} catch (e) {
  failures.push({ error: String(e?.message ?? e) });
}
if (yielded < replayable.length && failures.length === 0)
  failures.push({ error: `the SDK yielded ${yielded} of ${replayable.length} messages` });
process.stdout.write(JSON.stringify({ yielded, expected: replayable.length, failures }) + "\n", () =>
  process.exit(failures.length ? 1 : 0));
