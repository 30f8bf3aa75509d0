//! A run as a sequence of rows between lifelines — the supervisor on the left, one CLI lifeline
//! per fake-claude invocation — built from the transcript (what each side wrote, in order), the
//! report and the verdict. Each violation is attached to the rows of the transcript records it
//! names; violations that name none are listed apart. Both renderers ([`super::mermaid`],
//! [`super::html`]) draw this, so they always show the same thing.

use fake_claude::transcript::{Event, Record};

use super::RunView;
use crate::normalize::{Redactor, summarize};

/// Rows beyond this are summarized as one note (a flood of control requests, say).
pub const MAX_ROWS: usize = 1500;
/// Detail text kept per row.
const MAX_DETAIL: usize = 4000;

#[derive(Debug, Clone, PartialEq)]
pub struct Mark {
    pub id: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A message or line one side wrote to the other.
    Message,
    /// stderr, stdin closed: drawn dashed.
    Side,
    /// Something that happened on one lifeline (start, exit, a signal, a failed step).
    Note,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub kind: Kind,
    /// Lifeline indexes: `from == to` for notes.
    pub from: usize,
    pub to: usize,
    pub label: String,
    /// The full record (JSON), for a closer look.
    pub detail: String,
    /// The transcript record it shows, if any.
    pub record: Option<usize>,
    /// Indexes into [`Diagram::marks`] of the violations that concern it.
    pub marks: Vec<usize>,
    /// Seconds since its invocation started.
    pub t: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Diagram {
    pub title: String,
    /// Lines under the title: outcome, adapter exit, timings.
    pub facts: Vec<String>,
    pub lifelines: Vec<String>,
    pub rows: Vec<Row>,
    pub marks: Vec<Mark>,
    /// Marks no row shows (the violation names no transcript record, or one not drawn).
    pub unplaced: Vec<usize>,
    /// The run had no verdict file: violations are unknown, not absent.
    pub verdict_missing: bool,
}

fn pretty(v: &impl serde::Serialize) -> String {
    let s = serde_json::to_string_pretty(v).unwrap_or_default();
    if s.len() <= MAX_DETAIL {
        return s;
    }
    let mut cut = MAX_DETAIL;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}\n… ({} bytes in all)", &s[..cut], s.len())
}

fn clip(s: &str, n: usize) -> String {
    let s = s.replace(['\n', '\r'], " ");
    if s.chars().count() <= n {
        s
    } else {
        format!("{}…", s.chars().take(n).collect::<String>())
    }
}

pub fn build(view: &RunView) -> Diagram {
    let mut r = Redactor::with_dirs(std::slice::from_ref(&view.dir));
    let marks: Vec<Mark> = view
        .verdict
        .as_ref()
        .map(|v| {
            v.violations
                .iter()
                .map(|x| Mark {
                    id: x.id.clone(),
                    message: x.message.clone(),
                })
                .collect()
        })
        .unwrap_or_default();
    let mut lifelines = vec![format!("Supervisor ({})", view.supervisor)];
    let mut cli_of = std::collections::BTreeMap::new();
    for rec in &view.transcript {
        cli_of.entry(rec.inv).or_insert_with(|| {
            let probe = matches!(
                &rec.event,
                Event::Start {
                    version_probe: true,
                    ..
                }
            );
            lifelines.push(if probe {
                format!("CLI, invocation {} (-v probe)", rec.inv)
            } else {
                format!("CLI, invocation {}", rec.inv)
            });
            lifelines.len() - 1
        });
    }
    let mut rows = Vec::new();
    for (i, rec) in view.transcript.iter().enumerate() {
        let cli = cli_of[&rec.inv];
        rows.extend(rows_of(i, rec, cli, &mut r));
    }
    if rows.len() > MAX_ROWS {
        let more = rows.len() - MAX_ROWS;
        rows.truncate(MAX_ROWS);
        rows.push(Row {
            kind: Kind::Note,
            from: 0,
            to: lifelines.len() - 1,
            label: format!("… {more} more rows (see transcript.jsonl)"),
            detail: String::new(),
            record: None,
            marks: vec![],
            t: None,
        });
    }
    for t in &view.report.turns {
        let text = t.output.as_deref().or(t.error.as_deref()).unwrap_or("");
        rows.push(note(
            0,
            format!("report: turn {} {} {:?}", t.index, t.status, clip(text, 60)),
            pretty(t),
        ));
    }
    match &view.report.end {
        Some(e) => rows.push(note(0, format!("report: end {}", e.status), pretty(e))),
        None => rows.push(note(0, "report: no end line".into(), String::new())),
    }
    for p in &view.report.problems {
        rows.push(note(
            0,
            format!("report problem: {}", clip(p, 80)),
            p.clone(),
        ));
    }
    // Attach each violation to the rows of its records.
    let mut placed = vec![false; marks.len()];
    if let Some(v) = &view.verdict {
        for (m, x) in v.violations.iter().enumerate() {
            for row in rows.iter_mut() {
                if row.record.is_some_and(|rec| x.records.contains(&rec)) {
                    row.marks.push(m);
                    placed[m] = true;
                }
            }
        }
    }
    let unplaced = (0..marks.len()).filter(|m| !placed[*m]).collect();
    Diagram {
        title: format!("{} × {}", view.scenario, view.supervisor),
        facts: view.facts(),
        lifelines,
        rows,
        marks,
        unplaced,
        verdict_missing: view.verdict.is_none(),
    }
}

fn note(on: usize, label: String, detail: String) -> Row {
    Row {
        kind: Kind::Note,
        from: on,
        to: on,
        label,
        detail,
        record: None,
        marks: vec![],
        t: None,
    }
}

/// The rows one transcript record makes (a write of several messages makes one per message).
fn rows_of(i: usize, rec: &Record, cli: usize, r: &mut Redactor) -> Vec<Row> {
    let row = |kind: Kind, from: usize, to: usize, label: String, detail: String| Row {
        kind,
        from,
        to,
        label,
        detail,
        record: Some(i),
        marks: vec![],
        t: Some(rec.t),
    };
    let detail = pretty(rec);
    let on_cli = |label: String| row(Kind::Note, cli, cli, label, detail.clone());
    match &rec.event {
        Event::Start {
            argv,
            profile,
            version_probe,
            ..
        } => vec![on_cli(format!(
            "start{} (profile {profile}): {}",
            if *version_probe { " -v probe" } else { "" },
            clip(&argv.join(" "), 70)
        ))],
        Event::Stdin { msg: Some(m), .. } => {
            vec![row(Kind::Message, 0, cli, summarize(m, r), detail.clone())]
        }
        Event::Stdin { raw, error, .. } => vec![row(
            Kind::Message,
            0,
            cli,
            format!(
                "not JSON: {} ({})",
                clip(raw.as_deref().unwrap_or("<invalid UTF-8>"), 40),
                error.as_deref().unwrap_or("?")
            ),
            detail.clone(),
        )],
        Event::StdinEof => vec![row(
            Kind::Side,
            0,
            cli,
            "stdin closed".into(),
            detail.clone(),
        )],
        Event::Held { msgs, .. } => vec![on_cli(format!(
            "print mode holds {} message(s): {}",
            msgs.len(),
            clip(
                &msgs
                    .iter()
                    .map(|m| summarize(m, r))
                    .collect::<Vec<_>>()
                    .join(", "),
                60
            )
        ))],
        Event::Stdout {
            msgs,
            text,
            b64,
            part,
            burst,
            len,
            by,
            ..
        } => {
            let from = by
                .as_deref()
                .filter(|b| b.starts_with("handler:"))
                .map(|b| format!(" ({b})"))
                .unwrap_or_default();
            let split = match part {
                Some([k, n]) if *n > 1 => format!(" [part {k}/{n}]"),
                _ => String::new(),
            };
            if let Some(n) = burst {
                return vec![row(
                    Kind::Message,
                    cli,
                    0,
                    format!("burst: {n} messages, {len} bytes"),
                    detail.clone(),
                )];
            }
            match msgs {
                Some(msgs) if !msgs.is_empty() => msgs
                    .iter()
                    .map(|m| {
                        row(
                            Kind::Message,
                            cli,
                            0,
                            format!("{}{split}{from}", summarize(m, r)),
                            pretty(m),
                        )
                    })
                    .collect(),
                _ => {
                    let raw = fake_claude::transcript::raw_bytes(text.as_deref(), b64.as_deref());
                    let bytes = match text {
                        Some(t) => t.clone(),
                        None if b64.is_some() => {
                            format!("{} (not UTF-8)", String::from_utf8_lossy(&raw))
                        }
                        None => String::new(),
                    };
                    vec![row(
                        Kind::Message,
                        cli,
                        0,
                        format!("{len} raw bytes{split}: {}", clip(&bytes, 40)),
                        detail.clone(),
                    )]
                }
            }
        }
        Event::Stderr {
            text, flood, len, ..
        } => vec![row(
            Kind::Side,
            cli,
            0,
            if *flood {
                format!("stderr flood: {len} bytes")
            } else {
                format!("stderr: {}", clip(text.as_deref().unwrap_or(""), 60))
            },
            detail.clone(),
        )],
        Event::Step {
            step,
            outcome,
            detail: why,
            ..
        } if !matches!(
            outcome.as_str(),
            "matched" | "prompt" | "answered" | "then" | "else" | "started" | "done"
        ) =>
        {
            vec![on_cli(format!(
                "{step}: {outcome}{}",
                why.as_deref()
                    .map(|w| format!(" ({})", clip(w, 50)))
                    .unwrap_or_default()
            ))]
        }
        Event::Signal {
            signal,
            action,
            stdin,
        } => vec![on_cli(format!(
            "{signal} received ({action}{})",
            stdin
                .as_deref()
                .map(|s| format!(", stdin {s}"))
                .unwrap_or_default()
        ))],
        Event::StdoutClosed { .. } => vec![on_cli("stdout closed by the reader".into())],
        Event::StderrClosed { .. } => vec![on_cli("stderr closed by the reader".into())],
        Event::WriteStalled { stream, after_ms } => vec![on_cli(format!(
            "{stream} write blocked for {after_ms} ms and counting"
        ))],
        Event::Watchdog { after_ms } => vec![on_cli(format!("watchdog fired after {after_ms} ms"))],
        Event::Spawned { pid } => vec![on_cli(format!("spawned a grandchild (pid {pid})"))],
        Event::Note { text } => vec![on_cli(format!("note: {}", clip(text, 70)))],
        Event::Kill { signal } => vec![on_cli(format!("dies by {signal}"))],
        Event::Exit { code } => vec![on_cli(format!("exit {code}"))],
        Event::Step { .. } | Event::Control { .. } => vec![],
    }
}
