//! Generated conversations: a small model of what a CLI session can contain — turns of text,
//! thinking, tool use gated by `can_use_tool` or hooks, SDK-MCP requests, background tasks whose
//! notification lands before, during or after the next turn, injected turns, unknown message
//! types and fields, split writes, pauses, bursts, stderr — plus one session-level fault (crash,
//! kill, silence, stdin closed, ...). [`Conversation::scenario`] turns it into an ordinary
//! scenario (a YAML value the scenario loader reads), so a generated case runs exactly like a
//! library scenario. The model is what proptest shrinks: fewer turns, fewer items, no fault.

use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Map, Value, json};

use crate::supervisor::{Capability, Supervisor};

/// What the supervisor under test claims, so the generator only produces conversations it can
/// run (no case is wasted as `skipped`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    pub multi_turn: bool,
    /// Answers control requests: without it nothing sends the supervisor one (MCP messages,
    /// hook callbacks of ids it never registered).
    pub control_protocol: bool,
    pub permission_prompts: bool,
    pub hooks: bool,
    pub background_aware: bool,
    /// Reads the streamed conversation: without it (print mode's one JSON result) a question
    /// the model asked cannot be seen, so none is generated.
    pub stream_output: bool,
}

impl Caps {
    pub fn of(sup: &Supervisor) -> Caps {
        Caps {
            multi_turn: sup.has_capability(Capability::MultiTurn),
            control_protocol: sup.has_capability(Capability::ControlProtocol),
            permission_prompts: sup.has_capability(Capability::PermissionPrompts),
            hooks: sup.has_capability(Capability::Hooks),
            background_aware: sup.has_capability(Capability::BackgroundAware),
            stream_output: sup.has_capability(Capability::StreamOutput),
        }
    }
}

/// Which session faults may be generated. `Fast` leaves out the ones whose *correct* handling
/// takes seconds by construction (a CLI that ignores SIGTERM is only gone after the
/// supervisor's grace periods, a silent CLI only after the turn timeout, ...); `Full` has them
/// all (`harness fuzz --slow`, and `--mutants`, which needs them to find every switch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mix {
    Fast,
    Full,
}

#[derive(Debug, Clone)]
pub struct Conversation {
    pub profile: &'static str,
    pub seed: u64,
    pub turns: Vec<Turn>,
    pub callback: Callback,
    pub background: Option<Background>,
    pub fault: Fault,
}

#[derive(Debug, Clone)]
pub struct Turn {
    pub prompt: String,
    pub body: Vec<Item>,
    pub reply: String,
    /// An error result (`error_during_execution`) with this error text instead of success.
    pub error: Option<String>,
    /// The next turn's `system/init` goes out in the same write as this turn's result (FM-24).
    pub init_after: bool,
}

#[derive(Debug, Clone)]
pub enum Item {
    Text {
        text: String,
        split_at: Vec<usize>,
    },
    Thinking(String),
    Tool {
        command: String,
        output: String,
        gate: Gate,
    },
    /// An SDK-MCP `mcp_message` control request the supervisor must answer.
    Mcp {
        server: String,
        method: &'static str,
    },
    /// AskUserQuestion auto-answered with nothing: the turn needs a human (FM-51).
    Question,
    Unknown(Unknown),
    RateLimit,
    KeepAlive,
    Burst {
        count: u8,
        per_write: u8,
    },
    Stderr(String),
    Pause(u8),
    /// More stderr than a pipe buffer holds (FM-09).
    StderrFlood,
    /// A slow `can_use_tool` answer, with a hook callback that must be answered meanwhile (FM-30).
    Concurrent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    None,
    /// `can_use_tool`, answered by the supervisor's callback (see [`Callback`]).
    Permission,
    /// A `PreToolUse` hook callback the supervisor registered.
    Hook,
    /// A hook callback with an id nobody registered: must be answered with an error (FM-29).
    UnknownHook,
}

#[derive(Debug, Clone)]
pub enum Unknown {
    TopLevel(&'static str),
    SystemSubtype(&'static str),
    /// A known message with fields nobody documented.
    ExtraFields,
}

/// How the supervisor's permission callback behaves (`drive.can_use_tool`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Callback {
    Normal,
    Slow,
    Throws,
}

#[derive(Debug, Clone, Copy)]
pub struct Background {
    /// The turn whose tool launches the task.
    pub turn: usize,
    pub placement: Placement,
    /// An Agent (`async_launched`) rather than a background Bash command.
    pub agent: bool,
}

/// Where the task's notification and its injected turn land, relative to the next turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    Before,
    During,
    After,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    None,
    /// The CLI dies mid last turn with this exit code (0: a clean exit without a result).
    Crash(i32),
    Killed,
    /// A non-zero exit after the last success result (FM-15).
    ExitAfterResult(i32),
    /// The last turn never ends (FM-20).
    Silence,
    /// The CLI closes its stdin during the second-to-last turn (FM-19).
    StdinClosed,
    /// The CLI ignores SIGTERM and hangs after the last result (FM-12).
    HangAfterResult,
    /// The CLI flushes for a while after stdin EOF before it exits (FM-11).
    FlushBeforeExit,
    /// A grandchild holding stdout and ignoring SIGTERM (FM-17).
    Grandchild,
    /// More stdout than a pipe buffer before the first prompt is read, and a large prompt (FM-08).
    StartupBurst,
    /// A `UserPromptSubmit` hook blocks the last prompt (FM-29).
    HookBlock,
    /// The initialize answer says `hooks_applied: false` (FM-29).
    HooksNotApplied,
    /// A `can_use_tool` request for a background command (FM-38).
    BackgroundPermission,
}

impl Fault {
    fn slow(&self) -> bool {
        matches!(
            self,
            Fault::Silence | Fault::StdinClosed | Fault::HangAfterResult | Fault::Grandchild
        )
    }
}

// ---------------------------------------------------------------------------------------------
// strategies

/// Text with the characters parsers get wrong: multi-byte UTF-8, emoji, quotes, backslashes,
/// spaces at the edges, newlines.
pub fn text() -> impl Strategy<Value = String> {
    let pieces = select(vec![
        "ok",
        "Paris.",
        "héllo",
        "naïve café",
        "日本語",
        "🦀",
        "ß",
        "Ünïcödé",
        "\u{1F600}",
        " ",
        "  lead",
        "trail  ",
        "line\nbreak",
        "\"quoted\"",
        "back\\slash",
        "tab\there",
        "{json?}",
        "42",
        "ελληνικά",
        "emoji 👍🏽 skin",
    ]);
    proptest::collection::vec(pieces, 1..5).prop_map(|v| v.concat())
}

fn command() -> impl Strategy<Value = String> {
    select(vec![
        "ls",
        "cargo test",
        "git status",
        "cat README.md",
        "grep -rn TODO src",
        "echo ✓",
    ])
    .prop_map(str::to_string)
}

fn unknown() -> impl Strategy<Value = Unknown> {
    prop_oneof![
        select(vec![
            "zz_future",
            "tool_progress",
            "command_lifecycle",
            "auth_status"
        ])
        .prop_map(Unknown::TopLevel),
        select(vec![
            "zz_new_subtype",
            "hook_response",
            "files_persisted",
            "memory_saved"
        ])
        .prop_map(Unknown::SystemSubtype),
        Just(Unknown::ExtraFields),
    ]
}

fn item(caps: Caps, callback: Callback) -> impl Strategy<Value = Item> {
    let gate = {
        let mut gates = vec![(6, Just(Gate::None))];
        if caps.control_protocol {
            gates.push((1, Just(Gate::UnknownHook)));
        }
        if caps.permission_prompts {
            gates.push((3, Just(Gate::Permission)));
        }
        if caps.hooks {
            gates.push((2, Just(Gate::Hook)));
        }
        proptest::strategy::Union::new_weighted(
            gates.into_iter().map(|(w, g)| (w, g.boxed())).collect(),
        )
    };
    let mut items: Vec<(u32, BoxedStrategy<Item>)> = vec![
        (
            8,
            (text(), proptest::collection::vec(1usize..160, 0..4))
                .prop_map(|(text, split_at)| Item::Text { text, split_at })
                .boxed(),
        ),
        (2, text().prop_map(Item::Thinking).boxed()),
        (
            5,
            (command(), text(), gate)
                .prop_map(|(command, output, gate)| Item::Tool {
                    command,
                    output,
                    gate,
                })
                .boxed(),
        ),
        (
            2,
            (
                select(vec!["mysdk", "calc"]),
                select(vec![
                    "tools/list",
                    "tools/call",
                    "notifications/initialized",
                ]),
            )
                .prop_map(|(s, method)| Item::Mcp {
                    server: s.to_string(),
                    method,
                })
                .boxed(),
        ),
        (1, Just(Item::Question).boxed()),
        (3, unknown().prop_map(Item::Unknown).boxed()),
        (1, Just(Item::RateLimit).boxed()),
        (1, Just(Item::KeepAlive).boxed()),
        (
            1,
            (1u8..40, 1u8..8)
                .prop_map(|(count, per_write)| Item::Burst { count, per_write })
                .boxed(),
        ),
        (2, text().prop_map(Item::Stderr).boxed()),
        (2, (1u8..15).prop_map(Item::Pause).boxed()),
        (1, Just(Item::StderrFlood).boxed()),
    ];
    if callback == Callback::Slow && caps.hooks {
        items.push((2, Just(Item::Concurrent).boxed()));
    }
    proptest::strategy::Union::new_weighted(items)
}

fn turn(caps: Caps, callback: Callback) -> impl Strategy<Value = Turn> {
    (
        text(),
        proptest::collection::vec(item(caps, callback), 0..6),
        text(),
        proptest::option::weighted(0.1, text()),
        proptest::bool::weighted(0.1),
    )
        .prop_map(|(prompt, body, reply, error, init_after)| Turn {
            prompt,
            body,
            reply,
            error,
            init_after,
        })
}

fn fault(caps: Caps, mix: Mix) -> impl Strategy<Value = Fault> {
    // Full (`--slow`, `--mutants`) has seven more fault kinds: faults are half the cases.
    let none = if mix == Mix::Full { 14 } else { 24 };
    let mut all = vec![
        (none, Fault::None),
        (1, Fault::Crash(1)),
        (1, Fault::Crash(0)),
        (1, Fault::Killed),
        (1, Fault::ExitAfterResult(1)),
        (1, Fault::FlushBeforeExit),
        (1, Fault::StartupBurst),
        (1, Fault::Silence),
        (1, Fault::HangAfterResult),
        (1, Fault::Grandchild),
    ];
    if caps.multi_turn {
        all.push((1, Fault::StdinClosed));
    }
    if caps.hooks {
        all.push((1, Fault::HookBlock));
        all.push((1, Fault::HooksNotApplied));
    }
    if caps.permission_prompts {
        all.push((1, Fault::BackgroundPermission));
    }
    let all: Vec<(u32, BoxedStrategy<Fault>)> = all
        .into_iter()
        .filter(|(_, f)| mix == Mix::Full || !f.slow())
        .map(|(w, f)| (w, Just(f).boxed()))
        .collect();
    proptest::strategy::Union::new_weighted(all)
}

/// Conversations `sup` can run.
pub fn conversation(caps: Caps, mix: Mix) -> impl Strategy<Value = Conversation> {
    let max_turns = if caps.multi_turn { 4 } else { 2 };
    let callback = if caps.permission_prompts {
        // Full mix: the callback behaviours are some switches' only way in, so they come often.
        let c = if mix == Mix::Full {
            vec![
                (4, Just(Callback::Normal).boxed()),
                (2, Just(Callback::Throws).boxed()),
                (2, Just(Callback::Slow).boxed()),
            ]
        } else {
            vec![
                (8, Just(Callback::Normal).boxed()),
                (1, Just(Callback::Throws).boxed()),
            ]
        };
        proptest::strategy::Union::new_weighted(c).boxed()
    } else {
        Just(Callback::Normal).boxed()
    };
    (
        select(vec!["2.1.330", "2.1.81"]),
        any::<u16>(),
        callback,
        fault(caps, mix),
        proptest::option::weighted(
            0.25,
            (
                0usize..3,
                select(vec![Placement::Before, Placement::During, Placement::After]),
                any::<bool>(),
            ),
        ),
    )
        .prop_flat_map(move |(profile, seed, callback, fault, bg)| {
            proptest::collection::vec(turn(caps, callback), 1..max_turns).prop_map(move |turns| {
                Conversation {
                    profile,
                    seed: u64::from(seed),
                    turns,
                    callback,
                    background: bg.map(|(turn, placement, agent)| Background {
                        turn,
                        placement,
                        agent,
                    }),
                    fault: fault.clone(),
                }
                .fitted(caps)
            })
        })
}

impl Conversation {
    /// Drop what this supervisor or this shape cannot carry, so every generated (and shrunk)
    /// value is a valid scenario: one turn without `multi-turn`; a background task only without
    /// a fault, and a notification during or after the next turn only for background-aware
    /// supervisors; faults that need turns of their own get them.
    pub fn fitted(mut self, caps: Caps) -> Conversation {
        if !caps.multi_turn {
            self.turns.truncate(1);
        }
        let needs_hooks = matches!(self.fault, Fault::HookBlock | Fault::HooksNotApplied);
        if (needs_hooks && !caps.hooks)
            || (self.fault == Fault::BackgroundPermission && !caps.permission_prompts)
        {
            self.fault = Fault::None;
        }
        match self.fault {
            Fault::StdinClosed if self.turns.len() < 2 => {
                if self.turns.len() == 1 && caps.multi_turn {
                    let mut t = self.turns[0].clone();
                    t.body.clear();
                    self.turns.push(t);
                } else {
                    self.fault = Fault::None;
                }
            }
            // Their expectations are about one turn that would otherwise succeed.
            Fault::HooksNotApplied | Fault::BackgroundPermission => {
                self.turns.truncate(1);
                self.turns[0].error = None;
                if self.fault == Fault::BackgroundPermission && self.callback == Callback::Throws {
                    self.callback = Callback::Normal;
                }
            }
            _ => {}
        }
        if self.fault == Fault::StdinClosed {
            // The run then ends on the broken pipe; which of that and an earlier error result a
            // supervisor's end line quotes is its own choice: not generated.
            for t in &mut self.turns {
                t.error = None;
            }
        }
        if self.fault != Fault::None {
            self.background = None;
        }
        if let Some(bg) = &mut self.background {
            bg.turn = bg.turn.min(self.turns.len() - 1);
            let last = bg.turn + 1 == self.turns.len();
            if last || (!caps.background_aware && bg.placement != Placement::Before) {
                bg.placement = Placement::Before;
            }
            // Which failure a foreground-only supervisor reports for a turn that both launched
            // a background task and ended in an error result is its own choice: not generated.
            self.turns[bg.turn].error = None;
            // A next turn's early `system/init` and an injected turn in between leave (on
            // 2.1.81, which marks no origin) no way to tell which result answers the prompt.
            let next = (bg.turn + 1).min(self.turns.len() - 1);
            self.turns[bg.turn].init_after = false;
            self.turns[next].init_after = false;
        }
        for t in &mut self.turns {
            for it in &mut t.body {
                if let Item::Tool { gate, .. } = it {
                    if (*gate == Gate::Permission && !caps.permission_prompts)
                        || (*gate == Gate::Hook && !caps.hooks)
                        || (*gate == Gate::UnknownHook && !caps.control_protocol)
                    {
                        *gate = Gate::None;
                    }
                    if self.fault == Fault::HooksNotApplied && *gate == Gate::Hook {
                        *gate = Gate::None;
                    }
                }
            }
            t.body.retain(|it| match it {
                Item::Concurrent => self.callback == Callback::Slow && caps.hooks,
                Item::Mcp { .. } => caps.control_protocol,
                Item::Question => caps.stream_output,
                _ => true,
            });
        }
        self
    }

    /// Whether turn `i` is meant to end in a success result (only then is a question the
    /// model asked and nobody answered the turn's news).
    fn completes(&self, i: usize) -> bool {
        let n = self.turns.len();
        let t = &self.turns[i];
        if t.error.is_some() || self.background.is_some_and(|bg| bg.turn == i) {
            return false;
        }
        match self.fault {
            Fault::Crash(_) | Fault::Killed | Fault::Silence | Fault::HookBlock => i + 1 < n,
            Fault::StdinClosed => i + 2 < n,
            Fault::HooksNotApplied | Fault::BackgroundPermission => false,
            _ => true,
        }
    }

    /// The most can_use_tool requests one turn sends.
    fn permission_requests_per_turn(&self) -> usize {
        self.turns
            .iter()
            .map(|t| {
                t.body
                    .iter()
                    .filter(|i| {
                        matches!(i, Item::Concurrent)
                            || matches!(i, Item::Tool { gate, .. } if *gate == Gate::Permission)
                    })
                    .count()
            })
            .max()
            .unwrap_or(0)
    }

    fn uses_gate(&self, g: Gate) -> bool {
        self.turns.iter().flat_map(|t| &t.body).any(|i| {
            matches!(i, Item::Tool { gate, .. } if *gate == g)
                || (g == Gate::Hook && matches!(i, Item::Concurrent))
        }) || (g == Gate::Permission && self.fault == Fault::BackgroundPermission)
            || (g == Gate::Permission
                && self
                    .turns
                    .iter()
                    .flat_map(|t| &t.body)
                    .any(|i| matches!(i, Item::Concurrent)))
    }

    /// The scenario, as the value a scenario file holds.
    pub fn scenario(&self, name: &str) -> Value {
        let mut b = Builder::default();
        let n = self.turns.len();
        let mut script: Vec<Value> = Vec::new();
        let mut expect_turns: Vec<Value> = vec![json!({}); n];
        let mut fg_turns: Option<Vec<Value>> = None;
        let mut requires: Vec<&str> = Vec::new();
        let mut drive = Map::new();
        let mut top = Map::new();
        if n > 1 {
            requires.push("multi-turn");
        }
        let mut hooks: Vec<Value> = Vec::new();
        if self.uses_gate(Gate::Hook) {
            hooks.push(json!({"event": "PreToolUse"}));
            requires.push("hooks");
        }
        if self.uses_gate(Gate::Permission) {
            requires.push("permission-prompts");
            match self.callback {
                Callback::Normal => {}
                Callback::Slow => {
                    drive.insert("can_use_tool".into(), json!({"delay": "1s"}));
                }
                Callback::Throws => {
                    drive.insert(
                        "can_use_tool".into(),
                        json!({"fail": "TypeError: Cannot read properties of undefined (reading 'path')"}),
                    );
                }
            }
        }
        match self.fault {
            Fault::BackgroundPermission => script.push(json!({"set": {"background": false}})),
            Fault::Grandchild => script.push(
                json!({"spawn": {"hold_stdout": true, "ignore_sigterm": true, "lifetime": "30s"}}),
            ),
            Fault::StartupBurst => script.push(json!({"burst": {"bytes": 262144}})),
            Fault::HangAfterResult => {
                top.insert("on_sigterm".into(), json!("ignore"));
            }
            Fault::Silence => {
                // Past every slow permission answer (1 s each, one after the other) with room to
                // spare: the timeout must catch the silent CLI, not a turn still waiting on the
                // supervisor's callbacks.
                let slow = if self.callback == Callback::Slow {
                    self.permission_requests_per_turn()
                } else {
                    0
                };
                let timeout = 700 + 1000 * slow as u64 + if slow > 0 { 1000 } else { 0 };
                drive.insert("turn_timeout".into(), json!(format!("{timeout}ms")));
            }
            Fault::StdinClosed => {
                // As process/stdin-closed-mid-session: the supervisor gets 1 s (its undelivered
                // grace) to see the CLI is not going to answer before the timeout would say so.
                drive.insert("turn_timeout".into(), json!("2s"));
                expect_turns[n - 1] = json!({"status": "failed"});
            }
            Fault::HookBlock => {
                hooks.push(json!({"event": "UserPromptSubmit", "answer": {"decision": "block", "reason": "policy forbids it"}}));
                if !requires.contains(&"hooks") {
                    requires.push("hooks");
                }
                expect_turns[n - 1] = json!({"status": "blocked", "error_contains": "policy"});
            }
            Fault::HooksNotApplied => {
                hooks.push(json!({
                    "event": "PreToolUse", "matcher": "Bash",
                    "answer": {"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": "deny", "permissionDecisionReason": "no shell in this session"}}
                }));
                if !requires.contains(&"hooks") {
                    requires.push("hooks");
                }
                top.insert(
                    "handlers".into(),
                    json!({"initialize": {"with": {"hooks_applied": false}}}),
                );
                expect_turns[0] = json!({"status": "failed", "error_contains": "hook"});
            }
            _ => {}
        }
        let bg = self.background;
        for (i, t) in self.turns.iter().enumerate() {
            let last = i + 1 == n;
            let mut steps: Vec<Value> = Vec::new();
            let mut turn = Map::new();
            if self.completes(i) && t.body.iter().any(|it| matches!(it, Item::Question)) {
                expect_turns[i]["needs_input"] = json!(true);
            }
            for it in &t.body {
                steps.extend(b.item(it, self.callback));
            }
            let launches = bg.is_some_and(|bg| bg.turn == i);
            let notified_during =
                bg.is_some_and(|bg| bg.turn + 1 == i && bg.placement == Placement::During);
            let owed_after =
                bg.is_some_and(|bg| bg.turn + 1 == i && bg.placement == Placement::After);
            if launches {
                steps.extend(b.launch(bg.expect("launches").agent));
                turn.insert("idle".into(), json!(false));
                let mut fg = vec![json!({}); i];
                fg.push(json!({"status": "failed", "error_contains": "background"}));
                fg_turns = Some(fg);
            }
            if notified_during {
                steps.extend(b.notification(bg.is_some_and(|bg| bg.agent)));
                turn.insert("idle".into(), json!(false));
            }
            if owed_after {
                turn.insert("idle".into(), json!(false));
            }
            if self.fault == Fault::BackgroundPermission {
                steps.extend(b.background_permission());
                expect_turns[0] = json!({"status": "completed"});
                fg_turns = Some(vec![
                    json!({"status": "completed", "output": "Tests passed."}),
                ]);
                top.insert("expect_stdin_fg".into(), json!(true));
            }
            let ends_in_text = self.fault != Fault::HookBlock || !last;
            if ends_in_text && self.fault != Fault::BackgroundPermission {
                steps.push(json!({"emit": {"assistant": {"text": t.reply}}}));
                turn.insert("reply".into(), json!(t.reply));
            }
            if last {
                match self.fault {
                    Fault::Crash(code) => {
                        steps.push(json!({"stderr": {"text": "Error: connect ECONNRESET 160.79.104.10:443\n"}}));
                        steps.push(json!({"sleep": "10ms"}));
                        steps.push(json!({"exit": code}));
                    }
                    Fault::Killed => steps.push(json!({"kill": "SIGKILL"})),
                    Fault::Silence => steps.push(json!({"hang": {}})),
                    Fault::HookBlock => {
                        steps = b.hook_block();
                        turn.insert("result".into(), json!({"text": ""}));
                        turn.insert("result_with".into(), json!({"num_turns": 0}));
                    }
                    _ => {}
                }
            }
            if self.fault == Fault::StdinClosed && i + 2 == n {
                steps.push(json!({"close_stdin": {}}));
            }
            if let Some(e) = &t.error
                && !(last && self.fault == Fault::HookBlock)
            {
                turn.insert(
                    "result".into(),
                    json!({"subtype": "error_during_execution", "errors": [e]}),
                );
            }
            if t.init_after && !last && !matches!(self.fault, Fault::StdinClosed) {
                turn.insert("after".into(), json!([{"init": {}}]));
            }
            turn.insert("steps".into(), Value::Array(steps));
            script.push(json!({"turn": turn}));
            if t.init_after && !last && !matches!(self.fault, Fault::StdinClosed) {
                script.push(json!({"expect": {"match": {"type": "user"}, "keep": true, "timeout": "10s", "on_timeout": "continue", "on_eof": "continue"}}));
            }
            if self.fault == Fault::StdinClosed && i + 2 == n {
                script.push(json!({"hang": {"for": "3s", "read_stdin": false}}));
                script.push(json!({"exit": 0}));
                break;
            }
            let before_next =
                bg.is_some_and(|bg| bg.turn == i && bg.placement == Placement::Before);
            let after_next = bg.is_some_and(|bg| {
                (bg.turn + 1 == i && bg.placement != Placement::Before) || (bg.turn == i && last)
            });
            if before_next && !last {
                script.push(json!({"expect": {"match": {"type": "user"}, "keep": true, "timeout": "10s", "on_timeout": "continue", "on_eof": "continue"}}));
            }
            if (before_next && !last) || after_next {
                let during =
                    bg.is_some_and(|bg| bg.turn + 1 == i && bg.placement == Placement::During);
                if !during {
                    script.extend(b.notification(bg.is_some_and(|bg| bg.agent)));
                }
                script.push(
                    json!({"injected_turn": {"reply": "The background job finished: ✓ done."}}),
                );
            }
        }
        match self.fault {
            Fault::BackgroundPermission => script.push(json!({"if": {
                "when": {"var": "background", "equals": true},
                "then": [
                    {"emit": {"task_updated": {"task_id": "bk3n9x2qa", "status": "completed"}}},
                    {"emit": {"task_notification": {"task_id": "bk3n9x2qa", "summary": "Background command \"run tests\" completed (exit code 0)"}}},
                    {"injected_turn": {"reply": "The background tests passed."}}
                ]
            }})),
            Fault::ExitAfterResult(code) => {
                script.push(json!({"stderr": {"text": "MCP server planetscale: needs-auth\n"}}));
                script.push(json!({"exit": code}));
            }
            Fault::HangAfterResult => script.push(json!({"hang": {"read_stdin": false}})),
            Fault::FlushBeforeExit => {
                script.push(json!({"wait_eof": {}}));
                script.push(json!({"note": "flushing the session file"}));
                script.push(json!({"sleep": "100ms"}));
                script.push(json!({"exit": 0}));
            }
            _ => {}
        }
        if self.background.is_some() && requires_background_aware(self) {
            requires.push("background-aware");
        }
        let mut drive_turns: Vec<Value> = self
            .turns
            .iter()
            .map(|t| json!({"prompt": t.prompt}))
            .collect();
        if self.fault == Fault::StartupBurst {
            drive_turns[0]["pad_to_bytes"] = json!(131072);
        }
        drive.insert("turns".into(), Value::Array(drive_turns));
        if !hooks.is_empty() {
            drive.insert("hooks".into(), Value::Array(hooks));
        }
        let mut expect = Map::new();
        if expect_turns
            .iter()
            .any(|t| t.as_object().is_some_and(|o| !o.is_empty()))
        {
            expect.insert("turns".into(), Value::Array(expect_turns));
        }
        let mut by_policy = Map::new();
        if let Some(fg) = fg_turns {
            let mut pe = Map::new();
            pe.insert("turns".into(), Value::Array(fg));
            if top.remove("expect_stdin_fg").is_some() {
                pe.insert(
                    "stdin".into(),
                    json!([{
                        "match": {"type": "control_response", "response": {"subtype": "success", "request_id": "perm-bg-1", "response": {"behavior": "allow", "updatedInput": {"run_in_background": false}}}},
                        "count": 1,
                        "because": "a foreground-only supervisor must not let the tool run in the background"
                    }]),
                );
            }
            by_policy.insert("foreground-only".into(), Value::Object(pe));
        }
        if !by_policy.is_empty() {
            expect.insert("by_policy".into(), Value::Object(by_policy));
        }
        let mut s = Map::new();
        s.insert("name".into(), json!(name));
        s.insert("profile".into(), json!(self.profile));
        s.insert("seed".into(), json!(self.seed));
        if !requires.is_empty() {
            s.insert("requires".into(), json!(requires));
        }
        for (k, v) in top {
            s.insert(k, v);
        }
        s.insert("drive".into(), Value::Object(drive));
        if !expect.is_empty() {
            s.insert("expect".into(), Value::Object(expect));
        }
        s.insert("script".into(), Value::Array(script));
        Value::Object(s)
    }
}

fn requires_background_aware(c: &Conversation) -> bool {
    c.background
        .is_some_and(|bg| bg.placement != Placement::Before && bg.turn + 1 < c.turns.len())
}

/// Numbers ids so every generated message is distinct and each request is answered once.
#[derive(Default)]
struct Builder {
    n: usize,
}

impl Builder {
    fn next(&mut self) -> usize {
        self.n += 1;
        self.n
    }

    fn item(&mut self, it: &Item, callback: Callback) -> Vec<Value> {
        let k = self.next();
        match it {
            Item::Text { text, split_at } => {
                let mut e = json!({"assistant": {"text": text}});
                let mut at: Vec<usize> = split_at.clone();
                at.sort_unstable();
                at.dedup();
                if !at.is_empty() {
                    e["split_at"] = json!(at);
                }
                vec![json!({ "emit": e })]
            }
            Item::Thinking(t) => vec![json!({"emit": {"assistant": {"thinking": t}}})],
            Item::Tool {
                command,
                output,
                gate,
            } => {
                let id = format!("toolu_fz_{k}");
                let input = json!({"command": command, "description": "generated"});
                let mut v = vec![
                    json!({"emit": {"assistant": {"tool_use": {"id": id, "name": "Bash", "input": input}}}}),
                ];
                let mut result = json!({"tool_use_id": id, "content": output});
                match gate {
                    Gate::None => {}
                    Gate::Permission => {
                        let throws = callback == Callback::Throws;
                        v.push(json!({"request": {
                            "request_id": format!("perm-{k}"),
                            "can_use_tool": {"tool_name": "Bash", "tool_use_id": id, "input": input},
                            "expect": {"response": {"subtype": if throws { "error" } else { "success" }}},
                            "timeout": "10s", "on_timeout": "fail"
                        }}));
                        if throws {
                            result = json!({"tool_use_id": id, "is_error": true, "content": "Tool permission request failed"});
                        }
                    }
                    Gate::Hook => v.push(json!({"request": {
                        "request_id": format!("hook-{k}"),
                        "hook_callback": {"callback_id": "{{ hooks.PreToolUse.0 }}", "hook_event_name": "PreToolUse", "tool_name": "Bash", "tool_input": input, "tool_use_id": id},
                        "expect": {"response": {"subtype": "success"}},
                        "timeout": "10s", "on_timeout": "fail"
                    }})),
                    Gate::UnknownHook => {
                        v.push(json!({"request": {
                            "request_id": format!("hook-{k}"),
                            "hook_callback": {"callback_id": "hook_99", "hook_event_name": "PreToolUse", "tool_name": "Bash", "tool_input": input, "tool_use_id": id},
                            "expect": {"response": {"subtype": "error"}},
                            "timeout": "5s", "on_timeout": "fail"
                        }}));
                        result = json!({"tool_use_id": id, "is_error": true, "content": "PreToolUse hook error: No hook callback found for ID: hook_99"});
                    }
                }
                v.push(json!({ "emit": { "tool_result": result } }));
                v
            }
            Item::Mcp { server, method } => vec![json!({"request": {
                "request_id": format!("mcp-{k}"),
                "mcp_message": {"server_name": server, "message": {"jsonrpc": "2.0", "id": k, "method": method}},
                "timeout": "10s", "on_timeout": "fail"
            }})],
            Item::Question => {
                let id = format!("toolu_q_{k}");
                vec![
                    json!({"emit": {"assistant": {"tool_use": {"id": id, "name": "AskUserQuestion", "input": {"questions": [{"question": "Which DB?", "header": "DB", "multiSelect": false, "options": [{"label": "pg"}, {"label": "sqlite"}]}]}}}}}),
                    json!({"emit": {"tool_result": {"tool_use_id": id, "content": "User has answered your questions: . You can now continue with the user's answers in mind."}}}),
                ]
            }
            Item::Unknown(u) => vec![match u {
                Unknown::TopLevel(t) => {
                    json!({"emit": {"json": {"type": t, "payload": {"n": k, "note": "ünïcode"}, "session_id": "{{ session_id }}"}}})
                }
                Unknown::SystemSubtype(s) => {
                    json!({"emit": {"json": {"type": "system", "subtype": s, "data": {"n": k}, "session_id": "{{ session_id }}"}}})
                }
                Unknown::ExtraFields => {
                    json!({"emit": {"assistant": {"text": "extra fields"}, "with": {"zz_extra": {"n": k}, "message": {"zz_inner": [1, 2]}}}})
                }
            }],
            Item::RateLimit => vec![
                json!({"emit": {"rate_limit_event": {"status": "allowed_warning", "rate_limit_type": "five_hour", "utilization": 0.9}}}),
            ],
            Item::KeepAlive => vec![json!({"emit": {"keep_alive": {}}})],
            Item::Burst { count, per_write } => {
                vec![json!({"burst": {"count": count, "per_write": per_write}})]
            }
            Item::Stderr(t) => vec![json!({"stderr": {"text": t}})],
            Item::Pause(ms) => vec![json!({ "sleep": format!("{ms}ms") })],
            Item::StderrFlood => vec![json!({"stderr": {"flood_bytes": 262144, "chunk": 8192}})],
            Item::Concurrent => {
                let id = format!("toolu_cc_{k}");
                vec![
                    json!({"emit": {"assistant": {"tool_use": {"id": id, "name": "Bash", "input": {"command": "cargo test"}}}}}),
                    json!({"emit": {"control_request": {"request_id": format!("cr-a-{k}"), "can_use_tool": {"tool_name": "Bash", "tool_use_id": id, "input": {"command": "cargo test"}}}}}),
                    json!({"request": {
                        "request_id": format!("cr-b-{k}"),
                        "hook_callback": {"callback_id": "{{ hooks.PreToolUse.0 }}", "tool_name": "Bash", "tool_input": {"command": "cargo clippy"}, "tool_use_id": format!("{id}_lint")},
                        "expect": {"response": {"subtype": "success"}},
                        "timeout": "500ms", "on_timeout": "fail"
                    }}),
                    json!({"expect": {"match": {"type": "control_response", "response": {"request_id": format!("cr-a-{k}"), "subtype": "success"}}, "timeout": "10s", "on_timeout": "fail"}}),
                    json!({"emit": {"tool_result": {"tool_use_id": id, "content": "test result: ok"}}}),
                ]
            }
        }
    }

    fn launch(&mut self, agent: bool) -> Vec<Value> {
        if agent {
            vec![
                json!({"emit": {"assistant": {"tool_use": {"id": "toolu_bg", "name": "Agent", "input": {"description": "bg agent", "prompt": "research the topic", "subagent_type": "general-purpose", "run_in_background": true}}}}}),
                json!({"emit": {"task_started": {"task_id": "a274544a4eea08cab", "description": "bg agent", "task_type": "local_agent", "prompt": "research the topic"}}}),
                json!({"emit": {"tool_result": {
                    "content": [{"type": "text", "text": "Async agent launched successfully.\nagentId: a274544a4eea08cab\noutput_file: /tmp/claude-1000/-w/tasks/a274544a4eea08cab.output"}],
                    "tool_use_result": {"isAsync": true, "status": "async_launched", "agentId": "a274544a4eea08cab", "description": "bg agent", "prompt": "research the topic", "outputFile": "/tmp/claude-1000/-w/tasks/a274544a4eea08cab.output", "canReadOutputFile": true}
                }}}),
            ]
        } else {
            vec![
                json!({"emit": {"assistant": {"tool_use": {"id": "toolu_bg", "name": "Bash", "input": {"command": "sleep 3; echo bgdone", "description": "sleep in bg", "run_in_background": true}}}}}),
                json!({"emit": {"task_started": {"task_id": "b48lfacha", "description": "sleep in bg", "tool_use_id": "toolu_bg"}}}),
                json!({"emit": {"tool_result": {
                    "tool_use_id": "toolu_bg",
                    "content": "Command running in background with ID: b48lfacha. Output is being written to: /tmp/claude-1000/-w/tasks/b48lfacha.output. You will be notified when it completes.",
                    "tool_use_result": {"stdout": "", "stderr": "", "interrupted": false, "isImage": false, "noOutputExpected": false, "backgroundTaskId": "b48lfacha"}
                }}}),
            ]
        }
    }

    fn notification(&mut self, agent: bool) -> Vec<Value> {
        let task = if agent {
            "a274544a4eea08cab"
        } else {
            "b48lfacha"
        };
        vec![
            json!({"emit": {"task_updated": {"task_id": task, "status": "completed"}}}),
            json!({"emit": {"task_notification": {"task_id": task, "status": "completed", "summary": "Background task completed (exit code 0)", "tool_use_id": "toolu_bg"}}}),
        ]
    }

    fn hook_block(&mut self) -> Vec<Value> {
        vec![
            json!({"request": {
                "request_id": "hook-prompt-1",
                "hook_callback": {"callback_id": "{{ hooks.UserPromptSubmit.0 }}", "hook_event_name": "UserPromptSubmit", "prompt": "{{ prompt_text }}"},
                "expect": {"response": {"subtype": "success", "response": {"decision": "block"}}},
                "capture": {"reason": "response.response.reason"},
                "timeout": "5s", "on_timeout": "fail"
            }}),
            json!({"emit": {"json": {"type": "system", "subtype": "informational", "level": "warning", "content": "Prompt blocked: {{ reason }}", "prevent_continuation": true, "session_id": "{{ session_id }}", "uuid": "4f1c2a9e-5b7d-4c3e-9a8f-1e2d3c4b5a60"}}}),
        ]
    }

    /// `seed/background-control-request`'s exchange: the answer decides what the CLI does.
    fn background_permission(&mut self) -> Vec<Value> {
        let input =
            json!({"command": "cargo test", "description": "run tests", "run_in_background": true});
        vec![
            json!({"emit": {"assistant": {"tool_use": {"id": "toolu_bgp", "name": "Bash", "input": input}}}}),
            json!({"request": {
                "request_id": "perm-bg-1",
                "can_use_tool": {"tool_name": "Bash", "input": input},
                "capture": {"behavior": "response.response.behavior", "background": "response.response.updatedInput.run_in_background"},
                "timeout": "30s", "on_eof": "continue"
            }}),
            json!({"if": {
                "when": {"var": "behavior", "equals": "allow"},
                "then": [{"if": {
                    "when": {"var": "background", "equals": true},
                    "then": [
                        {"emit": {"tool_result": {"content": "Command running in background with ID: bk3n9x2qa.", "tool_use_result": {"stdout": "", "stderr": "", "interrupted": false, "isImage": false, "noOutputExpected": false, "backgroundTaskId": "bk3n9x2qa"}}}},
                        {"emit": {"assistant": {"text": "The tests are running in the background."}}}
                    ],
                    "else": [
                        {"emit": {"tool_result": {"content": "test result: ok. 12 passed"}}},
                        {"emit": {"assistant": {"text": "Tests passed."}}}
                    ]
                }}],
                "else": [
                    {"emit": {"tool_result": {"content": "denied", "is_error": true}}},
                    {"emit": {"assistant": {"text": "I was not allowed to run the tests."}}}
                ]
            }}),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuzz::transform::transform;
    use proptest::strategy::ValueTree;

    const ALL: Caps = Caps {
        multi_turn: true,
        control_protocol: true,
        permission_prompts: true,
        hooks: true,
        background_aware: true,
        stream_output: true,
    };
    const NONE: Caps = Caps {
        multi_turn: false,
        control_protocol: false,
        permission_prompts: false,
        hooks: false,
        background_aware: false,
        stream_output: false,
    };

    fn loads(v: &Value) -> fake_claude::scenario::Loaded {
        let yaml = serde_saphyr::to_string(v).unwrap();
        fake_claude::scenario::load_str(&yaml, "generated")
            .unwrap_or_else(|e| panic!("{}\n{yaml}", e.message))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        /// Every generated (and transformed) conversation is a scenario the loader accepts, that
        /// asks for no capability the supervisor lacks, and survives the YAML round trip.
        #[test]
        fn generated_scenarios_load(
            caps in prop_oneof![Just(ALL), Just(NONE)],
            (conv, tr) in prop_oneof![Just(ALL), Just(NONE)]
                .prop_flat_map(|c| (conversation(c, Mix::Full), transform())),
        ) {
            let conv = conv.fitted(caps);
            let s = conv.scenario("fuzz/x");
            let loaded = loads(&s);
            if caps == NONE {
                prop_assert!(loaded.scenario.requires.is_empty(), "{:?}", loaded.scenario.requires);
                prop_assert_eq!(loaded.scenario.drive.turns.len(), 1);
            }
            let yaml = fake_claude::scenario::to_yaml(&loaded.scenario).unwrap();
            fake_claude::scenario::load_str(&yaml, "again").unwrap();
            loads(&tr.apply(&s));
        }
    }

    #[test]
    fn fast_mix_leaves_out_slow_faults() {
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        for _ in 0..500 {
            let c = conversation(ALL, Mix::Fast)
                .new_tree(&mut runner)
                .unwrap()
                .current();
            assert!(!c.fault.slow() && c.callback != Callback::Slow, "{c:?}");
        }
    }
}
