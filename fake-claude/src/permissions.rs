//! The permission model: what the CLI does with a tool call the model makes, given how it was
//! invoked (`--permission-mode`, `--dangerously-skip-permissions`, `--allowedTools`,
//! `--disallowedTools`, `--permission-prompt-tool`, `--permission-prompts`). Scenarios state the
//! model's call once; [`decide`] derives the CLI's part, so the same scenario is true for every
//! supervisor. The rules follow recordings of CLI 2.1.332 (`tests/fixtures/transcripts/
//! cli2.1.332_perm_*.jsonl`, checked by `tests/fidelity.rs`); the table is in
//! `scenarios/README.md#the-permission-model`.

use serde_json::Value;

use crate::invocation::Invocation;

/// `--permission-mode` (or `--dangerously-skip-permissions`, which is `BypassPermissions`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    #[default]
    Default,
    AcceptEdits,
    BypassPermissions,
    Plan,
    DontAsk,
    Auto,
}

impl Mode {
    /// The flag's value; unknown values (`manual`, typos) behave as `default`, as 2.1.332 does
    /// with `--permission-mode manual` (its init says `default`).
    pub fn parse(s: &str) -> Mode {
        match s {
            "acceptEdits" => Mode::AcceptEdits,
            "bypassPermissions" => Mode::BypassPermissions,
            "plan" => Mode::Plan,
            "dontAsk" => Mode::DontAsk,
            "auto" => Mode::Auto,
            _ => Mode::Default,
        }
    }

    /// The name system/init reports as `permissionMode`.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Default => "default",
            Mode::AcceptEdits => "acceptEdits",
            Mode::BypassPermissions => "bypassPermissions",
            Mode::Plan => "plan",
            Mode::DontAsk => "dontAsk",
            Mode::Auto => "auto",
        }
    }
}

/// One `--allowedTools` / `--disallowedTools` entry: `Bash`, `Bash(git:*)`, `Edit(src/**)`,
/// `mcp__server__tool`, `mcp__server`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub tool: String,
    /// The part in parentheses; `None` for a whole-tool rule.
    pub content: Option<String>,
}

impl Rule {
    pub fn parse(s: &str) -> Option<Rule> {
        let s = s.trim();
        if s.is_empty() {
            return None;
        }
        match s.split_once('(') {
            Some((tool, rest)) if rest.ends_with(')') => Some(Rule {
                tool: tool.trim().to_string(),
                content: Some(rest[..rest.len() - 1].to_string()).filter(|c| !c.is_empty()),
            }),
            _ => Some(Rule {
                tool: s.to_string(),
                content: None,
            }),
        }
    }

    /// Whether the rule names this tool: exactly, or as its MCP server (`mcp__srv` covers
    /// `mcp__srv__anything`).
    fn names(&self, tool: &str) -> bool {
        self.tool == tool
            || (self.tool.starts_with("mcp__")
                && tool
                    .strip_prefix(self.tool.as_str())
                    .is_some_and(|rest| rest.starts_with("__")))
    }

    /// Whether the rule covers this call.
    pub fn matches(&self, tool: &str, input: &Value) -> bool {
        if !self.names(tool) {
            return false;
        }
        let Some(content) = &self.content else {
            return true;
        };
        match tool {
            "Bash" => {
                let command = str_field(input, "command");
                bash_rule_matches(content, command.trim())
            }
            _ => {
                let path = ["file_path", "path", "notebook_path", "url"]
                    .iter()
                    .map(|k| str_field(input, k))
                    .find(|p| !p.is_empty())
                    .unwrap_or_default();
                glob_matches(content, path)
                    || path
                        .rsplit_once('/')
                        .is_some_and(|_| glob_matches(&format!("**/{content}"), path))
            }
        }
    }
}

/// `git:*` is a prefix rule (`git` or `git …`); otherwise the command must match the pattern,
/// where `*` stands for anything (`touch fgfile *`).
fn bash_rule_matches(content: &str, command: &str) -> bool {
    if let Some(prefix) = content.strip_suffix(":*") {
        return command == prefix
            || command
                .strip_prefix(prefix)
                .is_some_and(|r| r.starts_with(' '));
    }
    if content.contains('*') {
        // `touch f *` also covers a bare `touch f`.
        return wildcard(content, command)
            || content
                .strip_suffix(" *")
                .is_some_and(|head| wildcard(head, command));
    }
    content == command
}

/// `*` matches any run of characters.
fn wildcard(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let mut rest = text;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            let Some(r) = rest.strip_prefix(part) else {
                return false;
            };
            rest = r;
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(at) => rest = &rest[at + part.len()..],
                None => return false,
            }
        }
    }
    true
}

/// Path globs: `**` crosses `/`, `*` does not.
fn glob_matches(pattern: &str, path: &str) -> bool {
    fn go(p: &[u8], t: &[u8]) -> bool {
        match p {
            [] => t.is_empty(),
            [b'*', b'*', rest @ ..] => {
                let rest = rest.strip_prefix(b"/").unwrap_or(rest);
                (0..=t.len()).any(|i| go(rest, &t[i..]))
            }
            [b'*', rest @ ..] => (0..=t.len())
                .take_while(|&i| i == 0 || t[i - 1] != b'/')
                .any(|i| go(rest, &t[i..])),
            [c, rest @ ..] => t.first() == Some(c) && go(rest, &t[1..]),
        }
    }
    go(pattern.as_bytes(), path.as_bytes())
}

fn str_field<'a>(input: &'a Value, key: &str) -> &'a str {
    input.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// The permission settings of one invocation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Settings {
    pub mode: Mode,
    /// `--permission-prompt-tool stdio`: the CLI can ask the supervisor (`can_use_tool`). Other
    /// values name an MCP tool, which the fake does not model: no one is asked.
    pub prompt_stdio: bool,
    /// `--permission-prompts none`: no approval surface, even with a prompt tool.
    pub prompts_none: bool,
    pub allowed: Vec<Rule>,
    pub disallowed: Vec<Rule>,
}

impl Settings {
    pub fn of(inv: &Invocation) -> Settings {
        let flag = |names: &[&str]| names.iter().find_map(|n| inv.flag(n));
        let skip = inv.flag("--dangerously-skip-permissions").is_some();
        let mode = match flag(&["--permission-mode"]) {
            _ if skip => Mode::BypassPermissions,
            Some(m) => Mode::parse(&m),
            None => Mode::Default,
        };
        Settings {
            mode,
            prompt_stdio: flag(&["--permission-prompt-tool"]).as_deref() == Some("stdio"),
            prompts_none: flag(&["--permission-prompts"]).as_deref() == Some("none"),
            allowed: rules(&inv.flag_values(&["--allowedTools", "--allowed-tools"])),
            disallowed: rules(&inv.flag_values(&["--disallowedTools", "--disallowed-tools"])),
        }
    }

    /// Whether a tool is gone for the session (`--disallowedTools Name`): absent from
    /// system/init `tools`, and a call is answered "No such tool available".
    pub fn removes(&self, tool: &str) -> bool {
        self.disallowed
            .iter()
            .any(|r| r.content.is_none() && r.names(tool))
    }

    /// What system/init echoes of the invocation: the mode, the tools left, the `--model`.
    pub fn apply_to(&self, session: &mut crate::profile::messages::Session, inv: &Invocation) {
        session.permission_mode = self.mode.name().to_string();
        session.tools.retain(|t| !self.removes(t));
        if let Some(model) = inv.flag("--model").filter(|m| !m.is_empty()) {
            session.model = model;
        }
    }

    pub fn bypass(&self) -> bool {
        self.mode == Mode::BypassPermissions
    }
}

/// Split flag values into rules: commas and spaces separate, except inside parentheses
/// (`Bash(npm run test),Read`).
fn rules(values: &[String]) -> Vec<Rule> {
    let mut out = Vec::new();
    for v in values {
        let mut depth = 0usize;
        let mut cur = String::new();
        for ch in v.chars() {
            match ch {
                '(' => {
                    depth += 1;
                    cur.push(ch);
                }
                ')' => {
                    depth = depth.saturating_sub(1);
                    cur.push(ch);
                }
                ',' | ' ' if depth == 0 => {
                    out.extend(Rule::parse(&cur));
                    cur.clear();
                }
                _ => cur.push(ch),
            }
        }
        out.extend(Rule::parse(&cur));
    }
    out
}

/// What a call does to the workspace, which is what the modes care about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Needs no permission in any mode: reading tools, `ls`, `git status`, `sleep 3; echo x`.
    ReadOnly,
    /// Creates or changes files: Write/Edit, or Bash such as `touch f`.
    Edit,
    /// Anything else: `python3 …`, `cargo test`, MCP tools, WebFetch.
    Exec,
}

/// Tools the CLI runs without a permission check.
const READ_ONLY_TOOLS: &[&str] = &[
    "Read",
    "Glob",
    "Grep",
    "LS",
    "NotebookRead",
    "TodoWrite",
    "Task",
    "Agent",
    "TaskOutput",
    "BashOutput",
    "ToolSearch",
];
const EDIT_TOOLS: &[&str] = &["Write", "Edit", "MultiEdit", "NotebookEdit"];
/// Shell commands the CLI's subcommand analysis approves as read-only.
const READ_ONLY_COMMANDS: &[&str] = &[
    "ls", "cat", "echo", "pwd", "head", "tail", "wc", "grep", "rg", "find", "which", "sleep",
    "true", "false", "date", "whoami", "printf", "sort", "uniq", "cut", "tr", "file", "stat", "du",
    "df", "tree", "basename", "dirname", "realpath", "env", "uname", "hostname", "id",
];
const READ_ONLY_GIT: &[&str] = &[
    "status",
    "log",
    "diff",
    "show",
    "branch",
    "rev-parse",
    "remote",
];
/// Shell commands that only create or change files (approved by acceptEdits and auto).
const EDIT_COMMANDS: &[&str] = &["touch", "mkdir", "rm", "rmdir", "mv", "cp", "ln", "chmod"];

/// The subcommands of a shell command line (`a && b; c | d`).
fn subcommands(command: &str) -> Vec<&str> {
    command
        .split(['&', ';', '|', '\n'])
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect()
}

fn command_kind(sub: &str) -> Kind {
    if sub.contains('>') {
        return Kind::Edit;
    }
    let mut words = sub.split_whitespace();
    let first = words.next().unwrap_or_default();
    if first == "git" {
        return if words.next().is_some_and(|w| READ_ONLY_GIT.contains(&w)) {
            Kind::ReadOnly
        } else {
            Kind::Exec
        };
    }
    if first == "find" && (sub.contains("-exec") || sub.contains("-delete")) {
        return Kind::Exec;
    }
    if READ_ONLY_COMMANDS.contains(&first) {
        Kind::ReadOnly
    } else if EDIT_COMMANDS.contains(&first) {
        Kind::Edit
    } else {
        Kind::Exec
    }
}

/// How the call would change things, ignoring the settings.
pub fn kind(tool: &str, input: &Value) -> Kind {
    if READ_ONLY_TOOLS.contains(&tool) {
        return Kind::ReadOnly;
    }
    if EDIT_TOOLS.contains(&tool) {
        return Kind::Edit;
    }
    if tool != "Bash" {
        return Kind::Exec;
    }
    subcommands(str_field(input, "command"))
        .into_iter()
        .map(command_kind)
        .fold(Kind::ReadOnly, |acc, k| match (acc, k) {
            (Kind::Exec, _) | (_, Kind::Exec) => Kind::Exec,
            (Kind::Edit, _) | (_, Kind::Edit) => Kind::Edit,
            _ => Kind::ReadOnly,
        })
}

/// Why the CLI refused a call; it decides the `permission_denied` frame's reason fields and the
/// tool result's `tool_result_meta`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DenyReason {
    /// Default mode, nobody to ask.
    NeedsApproval,
    /// Default mode, nobody to ask, a command the CLI cannot classify ("requires approval").
    RequiresApproval,
    /// A `--disallowedTools` rule with content.
    Rule,
    /// The mode refuses it (dontAsk).
    Mode,
    /// A write in plan mode.
    PlanWrite,
    /// The auto-mode classifier, which the CLI cannot reach (auto, plan).
    Classifier,
    /// `--permission-prompts none`.
    NoApprovalSurface,
}

/// Why the CLI allowed a call without asking (`tool_result_meta` `reason_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AllowReason {
    /// The mode allows it (bypassPermissions; acceptEdits and auto for edits; reading tools).
    Mode,
    /// An `--allowedTools` rule.
    Rule,
    /// The shell command's subcommands are all read-only (or edits acceptEdits allows).
    Subcommands,
}

/// What the CLI does with one tool call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Run it without asking.
    Allow(AllowReason),
    /// Send `can_use_tool` and do what the supervisor answers.
    Ask,
    /// Refuse it: `system/permission_denied`, an error tool_result, a permission denial.
    Deny { message: String, reason: DenyReason },
    /// The tool was removed for the session: the "No such tool available" error result.
    Unavailable { message: String },
}

impl Decision {
    /// A short name for transcripts and variables.
    pub fn name(&self) -> &'static str {
        match self {
            Decision::Allow(_) => "allow",
            Decision::Ask => "ask",
            Decision::Deny { .. } => "deny",
            Decision::Unavailable { .. } => "unavailable",
        }
    }

    /// Why, in a few words, for the `tool` step's variable and transcript record.
    pub fn reason(&self) -> &'static str {
        match self {
            Decision::Allow(AllowReason::Mode) => "mode",
            Decision::Allow(AllowReason::Rule) => "rule",
            Decision::Allow(AllowReason::Subcommands) => "read-only",
            Decision::Ask => "prompt tool",
            Decision::Deny { reason, .. } => match reason {
                DenyReason::NeedsApproval | DenyReason::RequiresApproval => "no prompt tool",
                DenyReason::Rule => "rule",
                DenyReason::Mode | DenyReason::PlanWrite => "mode",
                DenyReason::Classifier => "classifier",
                DenyReason::NoApprovalSurface => "no approval surface",
            },
            Decision::Unavailable { .. } => "disallowed",
        }
    }
}

/// The text of the tool result for a removed tool (as 2.1.332 writes it inside
/// `<tool_use_error>`; `tool_use_result` carries it after `Error: `).
pub fn unavailable_message(tool: &str) -> String {
    format!(
        "Error: No such tool available: {tool}. {tool} is disabled for this session, in subagents as well as here."
    )
}

const DONT_ASK_TAIL: &str = "IMPORTANT: You *may* attempt to accomplish this action using other tools that might naturally be used to accomplish this goal, e.g. using head instead of cat. But you *should not* attempt to work around this denial in malicious ways, e.g. do not use your ability to run tests to execute non-test actions. You should only try to work around this restriction in reasonable ways that do not attempt to bypass the intent behind this denial. If you believe this capability is essential to complete the user's request, STOP and explain to the user what you were trying to do and why you need this permission. Let the user decide how to proceed.";
const CLASSIFIER_MESSAGE: &str = "was not run. Other actions that need the check will be denied too, and retrying won't help. Finish what you can without them, then tell the user what is blocked and that they can switch to another permission mode.";
const NO_SURFACE_MESSAGE: &str = "Permission for this tool use was denied. It requires approval, and this session has no approval surface — nobody can answer a permission prompt here — so it was denied automatically. The action was NOT performed; do not claim it succeeded, and do not retry it: this action, and anything else that requires approval, will be denied the same way for the rest of this session. Tell the user what was blocked and why you needed it, then continue with the parts of the task that do not require approval. What required approval:";

/// The path a Bash command's first subcommand touches (`touch f && …` → `<cwd>/f`), as the CLI
/// names it in `blocked_path` and in its denial.
pub fn blocked_path(command: &str, cwd: &str) -> String {
    let first = subcommands(command).into_iter().next().unwrap_or_default();
    first
        .split_whitespace()
        .skip(1)
        .find(|w| !w.starts_with('-'))
        .map(|p| {
            if p.starts_with('/') {
                p.to_string()
            } else {
                format!("{cwd}/{p}")
            }
        })
        .unwrap_or_else(|| cwd.to_string())
}

/// Decide one call. Pure: the settings, the call, and the working directory (for messages).
pub fn decide(s: &Settings, tool: &str, input: &Value, cwd: &str) -> Decision {
    if s.removes(tool) {
        return Decision::Unavailable {
            message: unavailable_message(tool),
        };
    }
    if let Some(rule) = s.disallowed.iter().find(|r| r.matches(tool, input)) {
        let what = match (tool, rule.content.as_deref()) {
            ("Bash", Some(_)) => format!("Bash with command {}", str_field(input, "command")),
            _ => tool.to_string(),
        };
        return Decision::Deny {
            message: format!("Permission to use {what} has been denied."),
            reason: DenyReason::Rule,
        };
    }
    if s.bypass() {
        return Decision::Allow(AllowReason::Mode);
    }
    if s.allowed.iter().any(|r| r.matches(tool, input)) {
        return Decision::Allow(AllowReason::Rule);
    }
    let kind = kind(tool, input);
    let bash = tool == "Bash";
    if kind == Kind::ReadOnly {
        return Decision::Allow(if bash {
            AllowReason::Subcommands
        } else {
            AllowReason::Mode
        });
    }
    // A compound command every part of which is read-only or allowed by a rule.
    if bash
        && subcommands(str_field(input, "command")).iter().all(|sub| {
            command_kind(sub) == Kind::ReadOnly
                || s.allowed
                    .iter()
                    .any(|r| r.matches("Bash", &serde_json::json!({"command": sub})))
        })
    {
        return Decision::Allow(AllowReason::Subcommands);
    }
    let command = str_field(input, "command");
    let path = ["file_path", "notebook_path", "path"]
        .iter()
        .map(|k| str_field(input, k))
        .find(|p| !p.is_empty())
        .unwrap_or_default();
    let classifier = || Decision::Deny {
        message: format!(
            "Auto mode is unavailable: its safety check does not run for this session, so {tool} {CLASSIFIER_MESSAGE}"
        ),
        reason: DenyReason::Classifier,
    };
    match (s.mode, kind) {
        (Mode::AcceptEdits, Kind::Edit) => {
            return Decision::Allow(if bash {
                AllowReason::Subcommands
            } else {
                AllowReason::Mode
            });
        }
        (Mode::Auto, Kind::Edit) => return Decision::Allow(AllowReason::Mode),
        (Mode::Auto, _) => return classifier(),
        (Mode::Plan, Kind::Edit) if !bash => {
            return Decision::Deny {
                message: format!("Cannot write to {path} while in plan mode."),
                reason: DenyReason::PlanWrite,
            };
        }
        (Mode::Plan, _) => return classifier(),
        (Mode::DontAsk, _) => {
            return Decision::Deny {
                message: format!(
                    "Permission to use {tool} has been denied because Claude Code is running in don't ask mode. {DONT_ASK_TAIL}"
                ),
                reason: DenyReason::Mode,
            };
        }
        _ => {}
    }
    // default (and acceptEdits for what is not an edit): ask if someone can answer.
    if s.prompt_stdio && !s.prompts_none {
        return Decision::Ask;
    }
    let (message, reason) = match (bash, kind) {
        (true, Kind::Edit) => {
            let word = command.split_whitespace().next().unwrap_or("the command");
            (
                format!(
                    "{word} in '{}' needs approval. The path is inside the working directories for this session ('{cwd}'), and Claude Code asks before a shell command creates, changes or removes files there.",
                    blocked_path(command, cwd)
                ),
                DenyReason::NeedsApproval,
            )
        }
        (true, _) => (
            "This command requires approval".to_string(),
            DenyReason::RequiresApproval,
        ),
        (false, Kind::Edit) => (
            format!(
                "Claude requested permissions to write to {path}, but you haven't granted it yet."
            ),
            DenyReason::NeedsApproval,
        ),
        (false, _) => (
            format!("Claude requested permissions to use {tool}, but you haven't granted it yet."),
            DenyReason::NeedsApproval,
        ),
    };
    if s.prompt_stdio && s.prompts_none {
        return Decision::Deny {
            message: format!("{NO_SURFACE_MESSAGE} {message}"),
            reason: DenyReason::NoApprovalSurface,
        };
    }
    Decision::Deny { message, reason }
}

/// The fields a `system/permission_denied` frame carries between `tool_use_id` and `message`.
pub fn denied_fields(reason: DenyReason, message: &str) -> Vec<(&'static str, Value)> {
    use serde_json::json;
    match reason {
        DenyReason::NeedsApproval => vec![],
        DenyReason::RequiresApproval => vec![
            ("decision_reason_type", json!("other")),
            ("decision_reason", json!(message)),
        ],
        DenyReason::Rule => vec![("decision_reason_type", json!("rule"))],
        DenyReason::Mode | DenyReason::PlanWrite => vec![("decision_reason_type", json!("mode"))],
        DenyReason::Classifier => vec![
            ("decision_reason_type", json!("classifier")),
            (
                "decision_reason_code",
                json!("auto_mode_no_check_in_session"),
            ),
            ("decision_reason", json!("Classifier unavailable")),
        ],
        DenyReason::NoApprovalSurface => vec![
            ("decision_reason_type", json!("asyncAgent")),
            (
                "decision_reason",
                json!(
                    "no approval surface in this session; permission request denied automatically"
                ),
            ),
        ],
    }
}

/// `tool_result_meta[0]` of a call the CLI decided by itself (2.1.330+); `None` for a removed
/// tool, whose result carries no meta.
pub fn cli_meta(decision: &Decision, tool_use_id: &str) -> Option<Value> {
    use serde_json::json;
    match decision {
        Decision::Allow(r) => {
            let reason_type = match r {
                AllowReason::Mode => "mode",
                AllowReason::Rule => "rule",
                AllowReason::Subcommands => "subcommandResults",
            };
            Some(json!({"id": tool_use_id, "permission_decision":
                {"decision": "accept", "source": "config", "reason_type": reason_type}}))
        }
        Decision::Deny { reason, .. } => Some(match reason {
            // A write refused by plan mode is reported like a refused approval (2.1.332).
            DenyReason::NeedsApproval | DenyReason::RequiresApproval | DenyReason::PlanWrite => {
                json!({"id": tool_use_id, "non_execution_kind": "user-rejected",
                       "permission_decision": {"decision": "reject", "source": "config"}})
            }
            DenyReason::Rule | DenyReason::Mode | DenyReason::NoApprovalSurface => {
                let reason_type = match reason {
                    DenyReason::Rule => "rule",
                    DenyReason::Mode => "mode",
                    _ => "asyncAgent",
                };
                json!({"id": tool_use_id, "non_execution_kind": "permission-rule",
                       "permission_decision": {"decision": "reject", "source": "config",
                                               "reason_type": reason_type}})
            }
            DenyReason::Classifier => {
                json!({"id": tool_use_id, "non_execution_kind": "automode-unavailable",
                       "permission_decision": {"decision": "reject", "source": "config",
                                               "reason_type": "classifier"}})
            }
        }),
        Decision::Ask | Decision::Unavailable { .. } => None,
    }
}

/// Root without `IS_SANDBOX=1` may not bypass permissions: the real CLI's refusal, printed on
/// stderr before anything else happens (exit 1, nothing on stdout).
pub const ROOT_BYPASS_REFUSAL: &str =
    "--dangerously-skip-permissions cannot be used with root/sudo privileges for security reasons";

/// The refusal text when this invocation asks to bypass permissions as root outside a sandbox.
pub fn root_bypass_refusal(inv: &Invocation, is_root: bool) -> Option<&'static str> {
    let sandbox = inv.env.get("IS_SANDBOX").is_some_and(|v| v == "1");
    (is_root && !sandbox && Settings::of(inv).bypass()).then_some(ROOT_BYPASS_REFUSAL)
}

/// At start-up, before the scenario plays: refuse a root bypass as the real CLI does — the
/// message on stderr, exit 1, nothing on stdout — recording both. `None`: go on.
pub fn refuse_root_bypass(inv: &Invocation, tr: &crate::transcript::Transcript) -> Option<i32> {
    let text = format!("{}\n", root_bypass_refusal(inv, running_as_root())?);
    crate::cli::say_err(&text);
    tr.record(crate::transcript::Event::Stderr {
        len: text.len() as u64,
        text: Some(text),
        flood: false,
        blocked_us: 0,
    });
    tr.record(crate::transcript::Event::Exit { code: 1 });
    Some(1)
}

/// Whether this process runs as root (euid 0).
pub fn running_as_root() -> bool {
    rustix::process::geteuid().is_root()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn settings(args: &[&str]) -> Settings {
        Settings::of(&Invocation::parse(
            args.iter().map(|s| s.to_string()).collect(),
            std::iter::empty(),
        ))
    }

    fn bash(c: &str) -> Value {
        json!({"command": c, "description": "d"})
    }

    fn d(args: &[&str], tool: &str, input: Value) -> Decision {
        decide(&settings(args), tool, &input, "/w")
    }

    #[test]
    fn parses_both_spellings_and_forms() {
        let s = settings(&[
            "--allowedTools",
            "Bash(git:*),Read",
            "--disallowed-tools=AskUserQuestion mcp__srv",
            "--permission-mode=plan",
            "--permission-prompt-tool",
            "stdio",
        ]);
        assert_eq!(s.mode, Mode::Plan);
        assert!(s.prompt_stdio);
        assert_eq!(
            s.allowed,
            [
                Rule {
                    tool: "Bash".into(),
                    content: Some("git:*".into())
                },
                Rule {
                    tool: "Read".into(),
                    content: None
                }
            ]
        );
        assert!(s.removes("AskUserQuestion"));
        assert!(s.removes("mcp__srv__tool"));
        assert!(!s.removes("mcp__srvx__tool"));
        assert!(!s.removes("Bash"));
        let space = settings(&["--allowedTools", "Bash(npm run test) Edit(src/**)"]);
        assert_eq!(space.allowed.len(), 2);
        assert_eq!(space.allowed[0].content.as_deref(), Some("npm run test"));
        assert_eq!(
            settings(&["--dangerously-skip-permissions"]).mode,
            Mode::BypassPermissions
        );
        assert_eq!(
            settings(&["--permission-mode", "manual"]).mode,
            Mode::Default
        );
    }

    #[test]
    fn rule_forms() {
        let r = |s: &str| Rule::parse(s).unwrap();
        assert!(r("Bash(git:*)").matches("Bash", &bash("git status")));
        assert!(r("Bash(git:*)").matches("Bash", &bash("git")));
        assert!(!r("Bash(git:*)").matches("Bash", &bash("gitk")));
        assert!(r("Bash(npm run test)").matches("Bash", &bash("npm run test")));
        assert!(!r("Bash(npm run test)").matches("Bash", &bash("npm run test2")));
        assert!(r("Bash(touch fgfile *)").matches("Bash", &bash("touch fgfile")));
        assert!(r("Edit(src/**)").matches("Edit", &json!({"file_path": "src/a/b.rs"})));
        assert!(r("Edit(src/**)").matches("Edit", &json!({"file_path": "/w/src/a.rs"})));
        assert!(!r("Edit(src/**)").matches("Edit", &json!({"file_path": "/w/docs/a.md"})));
        assert!(r("mcp__srv").matches("mcp__srv__do", &json!({})));
        assert!(r("mcp__srv__do").matches("mcp__srv__do", &json!({})));
        assert!(!r("mcp__srv__do").matches("mcp__srv__other", &json!({})));
    }

    // Each case below is a 2.1.332 recording (cli2.1.332_perm_<name>.jsonl).
    #[test]
    fn decisions_as_recorded() {
        let touch = bash("touch fgfile && echo fgdone");
        let py = bash("python3 -c 'print(6*7)'");
        let write = json!({"file_path": "/w/new.txt", "content": "x"});
        let bypass = ["--permission-mode", "bypassPermissions"];
        let stdio = ["--permission-prompt-tool", "stdio"];
        // bypass_fg_bash, dangerously_skip, bypass_with_prompt_tool
        assert_eq!(
            d(&bypass, "Bash", touch.clone()),
            Decision::Allow(AllowReason::Mode)
        );
        assert_eq!(
            d(&["--dangerously-skip-permissions"], "Bash", touch.clone()),
            Decision::Allow(AllowReason::Mode)
        );
        assert_eq!(
            d(
                &[bypass[0], bypass[1], stdio[0], stdio[1]],
                "Bash",
                touch.clone()
            ),
            Decision::Allow(AllowReason::Mode)
        );
        // allowed_tools_bash, allowed_rule_match(_touch)
        assert_eq!(
            d(&["--allowedTools", "Bash"], "Bash", touch.clone()),
            Decision::Allow(AllowReason::Rule)
        );
        assert!(matches!(
            d(
                &["--allowedTools", "Bash(touch:*)"],
                "Bash",
                bash("touch fgfile")
            ),
            Decision::Allow(_)
        ));
        // default_prompt_tool_stdio, allowed_rule_nomatch_touch_prompt_tool
        assert_eq!(d(&stdio, "Bash", touch.clone()), Decision::Ask);
        assert_eq!(
            d(
                &["--allowedTools", "Bash(git:*)", stdio[0], stdio[1]],
                "Bash",
                bash("touch fgfile")
            ),
            Decision::Ask
        );
        // default_no_prompt_tool: the touch message names the path and the working directory.
        match d(&[], "Bash", touch.clone()) {
            Decision::Deny { message, reason } => {
                assert_eq!(reason, DenyReason::NeedsApproval);
                assert_eq!(
                    message,
                    "touch in '/w/fgfile' needs approval. The path is inside the working directories for this session ('/w'), and Claude Code asks before a shell command creates, changes or removes files there."
                );
            }
            other => panic!("{other:?}"),
        }
        // default_python, manual_python
        assert_eq!(
            d(&["--permission-mode", "manual"], "Bash", py.clone()),
            Decision::Deny {
                message: "This command requires approval".into(),
                reason: DenyReason::RequiresApproval
            }
        );
        // default_write
        assert_eq!(
            d(&[], "Write", write.clone()),
            Decision::Deny {
                message: "Claude requested permissions to write to /w/new.txt, but you haven't granted it yet.".into(),
                reason: DenyReason::NeedsApproval
            }
        );
        // read-only calls run in every mode: default_no_prompt_tool_ls/_git, default_read,
        // plan_ls, dontask_ls, allowed_rule_nomatch(_prompt_tool)
        for args in [
            &[][..],
            &["--permission-mode", "plan"],
            &["--permission-mode", "dontAsk"],
        ] {
            assert!(matches!(d(args, "Bash", bash("ls")), Decision::Allow(_)));
            assert!(matches!(
                d(args, "Bash", bash("git status")),
                Decision::Allow(_)
            ));
        }
        assert_eq!(
            d(&[], "Read", json!({"file_path": "/w/readme.txt"})),
            Decision::Allow(AllowReason::Mode)
        );
        assert!(matches!(
            d(&["--allowedTools", "Bash(git:*)"], "Bash", bash("ls")),
            Decision::Allow(_)
        ));
        // disallowed_bash, disallowed_rule
        assert_eq!(
            d(&["--disallowedTools", "Bash"], "Bash", touch.clone()),
            Decision::Unavailable {
                message: unavailable_message("Bash")
            }
        );
        assert_eq!(
            d(&["--disallowedTools", "Bash(ls:*)"], "Bash", bash("ls")),
            Decision::Deny {
                message: "Permission to use Bash with command ls has been denied.".into(),
                reason: DenyReason::Rule
            }
        );
        // accept_edits_bash, accept_edits_write
        let accept = ["--permission-mode", "acceptEdits"];
        assert!(matches!(
            d(&accept, "Bash", touch.clone()),
            Decision::Allow(_)
        ));
        assert_eq!(
            d(&accept, "Write", write.clone()),
            Decision::Allow(AllowReason::Mode)
        );
        // plan_bash(_prompt_tool), plan_write
        let plan = ["--permission-mode", "plan"];
        for args in [&plan[..], &[plan[0], plan[1], stdio[0], stdio[1]]] {
            assert!(matches!(
                d(args, "Bash", touch.clone()),
                Decision::Deny {
                    reason: DenyReason::Classifier,
                    ..
                }
            ));
        }
        assert_eq!(
            d(&plan, "Write", write.clone()),
            Decision::Deny {
                message: "Cannot write to /w/new.txt while in plan mode.".into(),
                reason: DenyReason::PlanWrite
            }
        );
        // dontask_bash(_prompt_tool)
        let dont = ["--permission-mode", "dontAsk"];
        for args in [&dont[..], &[dont[0], dont[1], stdio[0], stdio[1]]] {
            assert!(matches!(
                d(args, "Bash", touch.clone()),
                Decision::Deny {
                    reason: DenyReason::Mode,
                    ..
                }
            ));
        }
        // auto_bash(_prompt_tool), auto_python(_prompt_tool)
        let auto = ["--permission-mode", "auto"];
        for args in [&auto[..], &[auto[0], auto[1], stdio[0], stdio[1]]] {
            assert_eq!(
                d(args, "Bash", touch.clone()),
                Decision::Allow(AllowReason::Mode)
            );
            assert!(matches!(
                d(args, "Bash", py.clone()),
                Decision::Deny {
                    reason: DenyReason::Classifier,
                    ..
                }
            ));
        }
        // default_prompts_none_python
        assert!(matches!(
            d(
                &[stdio[0], stdio[1], "--permission-prompts", "none"],
                "Bash",
                py
            ),
            Decision::Deny {
                reason: DenyReason::NoApprovalSurface,
                ..
            }
        ));
    }

    #[test]
    fn background_launch_commands() {
        // cli2.1.330_bg_bash_*: `sleep 3; echo bgdone` ran unasked with a prompt tool.
        assert_eq!(kind("Bash", &bash("sleep 3; echo bgdone")), Kind::ReadOnly);
        assert_eq!(kind("Bash", &bash("cargo test")), Kind::Exec);
        assert_eq!(kind("Bash", &bash("echo x > f")), Kind::Edit);
        assert_eq!(kind("Agent", &json!({"prompt": "p"})), Kind::ReadOnly);
    }

    #[test]
    fn root_refuses_bypass_outside_a_sandbox() {
        let inv = |args: &[&str], env: &[(&str, &str)]| {
            Invocation::parse(
                args.iter().map(|s| s.to_string()).collect(),
                env.iter().map(|(k, v)| (k.to_string(), v.to_string())),
            )
        };
        let b = ["--permission-mode", "bypassPermissions"];
        assert_eq!(
            root_bypass_refusal(&inv(&b, &[]), true),
            Some(ROOT_BYPASS_REFUSAL)
        );
        assert!(
            root_bypass_refusal(&inv(&["--dangerously-skip-permissions"], &[]), true).is_some()
        );
        assert_eq!(
            root_bypass_refusal(&inv(&b, &[("IS_SANDBOX", "1")]), true),
            None
        );
        assert_eq!(root_bypass_refusal(&inv(&b, &[]), false), None);
        assert_eq!(root_bypass_refusal(&inv(&[], &[]), true), None);
    }
}
