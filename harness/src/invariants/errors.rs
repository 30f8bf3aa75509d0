//! `errors-surfaced`: a failed turn, and an `end` line with status `error`, carry an error text;
//! and when the CLI itself failed — an error result answered the turn, or the CLI exited non-zero,
//! crashed on a signal or hit its watchdog — that text carries the CLI's own diagnosis: the exit
//! code or signal, the error result's text or `errors`, or a line of what the CLI wrote on stderr.
//! A failure that is the supervisor's own decision (a policy refusal) only needs a non-empty text.

use fake_claude::scenario::Loaded;
use fake_claude::transcript::Event;

use super::facts::{self, Answers, EXIT_EXPECT_FAILED, Ending, Invocation};
use super::{show, violation};
use crate::artifacts::RunArtifacts;
use crate::verdict::Violation;

const ID: &str = "errors-surfaced";

/// What the CLI said about a failure, as tokens a diagnosis may quote.
#[derive(Debug, Default)]
struct Diagnosis {
    /// Why a CLI-side diagnosis is required, with the record showing it; empty: not required.
    causes: Vec<(String, usize)>,
    /// Numbers that count when they appear on their own (exit codes, signal numbers).
    numbers: Vec<i64>,
    /// Texts that count when contained (case-insensitive): signal names, result texts, errors,
    /// stderr lines.
    texts: Vec<String>,
}

impl Diagnosis {
    fn text(&mut self, s: &str) {
        let s = s.trim();
        if s.chars().count() < 3 {
            return;
        }
        // A long text counts by its first line, cut to 60 characters.
        let first: String = s.lines().next().unwrap_or(s).chars().take(60).collect();
        let first = first.trim().to_lowercase();
        if !first.is_empty() && !self.texts.contains(&first) {
            self.texts.push(first);
        }
    }

    fn signal(&mut self, name: &str) {
        let upper = name.trim().to_uppercase();
        let bare = upper.trim_start_matches("SIG").to_string();
        self.text(&upper);
        if bare.len() >= 3 {
            self.text(&bare);
        }
        if let Some(n) = signal_number(&bare) {
            self.numbers.extend([n, 128 + n, -n]);
        }
        // Go's `signal: segmentation fault`, strsignal(3)'s `Segmentation fault`.
        if let Some(d) = signal_description(&bare) {
            self.text(d);
        }
    }

    fn ending(&mut self, inv: &Invocation) {
        match &inv.ending {
            // fake-claude's own script failure: no real CLI exits so, nothing to quote.
            Ending::Exit {
                code: EXIT_EXPECT_FAILED,
                signalled: false,
            } if inv.script_failed => self.numbers.push(i64::from(EXIT_EXPECT_FAILED)),
            Ending::Exit {
                code,
                signalled: false,
            } if *code != 0 => {
                self.causes.push((
                    format!("the CLI exited with code {code}"),
                    inv.end_record.unwrap_or_default(),
                ));
                self.numbers.push(i64::from(*code));
            }
            Ending::Exit {
                code,
                signalled: true,
            } => self.numbers.push(i64::from(*code)),
            Ending::SelfKill(sig) => {
                self.causes.push((
                    format!("the CLI died by {sig}"),
                    inv.end_record.unwrap_or_default(),
                ));
                self.signal(sig);
            }
            // The fake's watchdog ended a run left hanging: its exit code 98 is fake-claude's,
            // not a diagnosis a supervisor could quote (no-timeout and teardown judge the hang).
            Ending::Watchdog(_) => self.numbers.push(98),
            Ending::Signalled(sig) => self.signal(sig),
            _ => {}
        }
    }

    fn result(&mut self, r: &facts::ResultRef) {
        if r.is_success() {
            return;
        }
        self.causes.push((
            format!("the CLI answered with an error result ({})", r.subtype()),
            r.record,
        ));
        if let Some(t) = r.text() {
            self.text(t);
        }
        for e in r.errors() {
            self.text(e);
        }
        self.text(r.subtype());
    }

    fn stderr(&mut self, run: &RunArtifacts, inv: Option<u32>) {
        for rec in &run.transcript {
            if let Event::Stderr {
                text: Some(text), ..
            } = &rec.event
                && inv.is_none_or(|i| i == rec.inv)
            {
                for line in text.lines() {
                    self.text(line);
                }
            }
        }
    }

    /// Does `error` quote any of it?
    fn quoted_in(&self, error: &str) -> bool {
        let lower = error.to_lowercase();
        self.texts.iter().any(|t| lower.contains(t.as_str()))
            || numbers_in(error).iter().any(|n| self.numbers.contains(n))
    }

    fn tokens(&self) -> String {
        let mut all: Vec<String> = self.numbers.iter().take(3).map(|n| n.to_string()).collect();
        all.extend(self.texts.iter().take(4).map(|t| show(t)));
        all.join(", ")
    }
}

/// The standalone integers in a text (`exit code 1` → 1; `-11` → -11; `x86` → none).
fn numbers_in(s: &str) -> Vec<i64> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let neg = b[i] == b'-' && b.get(i + 1).is_some_and(u8::is_ascii_digit);
        if !(b[i].is_ascii_digit() || neg) {
            i += 1;
            continue;
        }
        let start = i;
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let prev_ok = start == 0 || !b[start - 1].is_ascii_alphanumeric();
        let next_ok = i == b.len() || !b[i].is_ascii_alphanumeric();
        if prev_ok
            && next_ok
            && let Ok(n) = s[start..i].parse()
        {
            out.push(n);
        }
    }
    out
}

/// How Go and strsignal(3) spell a signal (`signal: killed`).
fn signal_description(bare: &str) -> Option<&'static str> {
    Some(match bare {
        "HUP" => "hangup",
        "INT" => "interrupt",
        "QUIT" => "quit",
        "ILL" => "illegal instruction",
        "TRAP" => "trace/breakpoint trap",
        "ABRT" => "aborted",
        "BUS" => "bus error",
        "FPE" => "floating point exception",
        "KILL" => "killed",
        "USR1" => "user defined signal 1",
        "SEGV" => "segmentation fault",
        "USR2" => "user defined signal 2",
        "PIPE" => "broken pipe",
        "ALRM" => "alarm clock",
        "TERM" => "terminated",
        _ => return None,
    })
}

fn signal_number(bare: &str) -> Option<i64> {
    Some(match bare {
        "HUP" => 1,
        "INT" => 2,
        "QUIT" => 3,
        "ILL" => 4,
        "TRAP" => 5,
        "ABRT" => 6,
        "BUS" => 7,
        "FPE" => 8,
        "KILL" => 9,
        "USR1" => 10,
        "SEGV" => 11,
        "USR2" => 12,
        "PIPE" => 13,
        "ALRM" => 14,
        "TERM" => 15,
        _ => return None,
    })
}

pub fn errors_surfaced(run: &RunArtifacts, scenario: &Loaded) -> Vec<Violation> {
    let answers = Answers::of(run, scenario);
    let invs = facts::invocations(run);
    let mut out = Vec::new();

    for (i, a) in answers.turns.iter().enumerate() {
        let Some(t) = facts::report_turn(run, i) else {
            continue;
        };
        if t.status != "failed" {
            continue;
        }
        let mut d = Diagnosis::default();
        if let Some(r) = &a.result {
            d.result(r);
        }
        // The invocation that had the prompt, if it never answered; any invocation if the
        // prompt never arrived.
        if a.result.is_none() {
            for inv in invs.iter().filter(|v| !v.version_probe) {
                if a.prompt.is_none_or(|p| p.inv == inv.inv) {
                    d.ending(inv);
                }
            }
        }
        d.stderr(run, a.prompt.map(|p| p.inv));
        let what = format!("turn {} failed", i + 1);
        out.extend(judge(&what, t.error.as_deref(), &d, false));
    }

    if let Some(end) = &run.report.end
        && end.status == "error"
    {
        let mut d = Diagnosis::default();
        for inv in invs.iter().filter(|v| !v.version_probe) {
            d.ending(inv);
        }
        for r in &answers.results {
            d.result(r);
        }
        d.stderr(run, None);
        let structured = end
            .cli_exit_code
            .is_some_and(|c| d.numbers.contains(&i64::from(c)))
            || end
                .cli_signal
                .is_some_and(|s| d.numbers.contains(&i64::from(s)));
        out.extend(judge(
            "the run ended in error",
            end.error.as_deref(),
            &d,
            structured,
        ));
    }
    out
}

fn judge(what: &str, error: Option<&str>, d: &Diagnosis, structured: bool) -> Option<Violation> {
    let records: Vec<usize> = d.causes.iter().map(|c| c.1).collect();
    let error = error.map(str::trim).filter(|e| !e.is_empty());
    let Some(error) = error else {
        return Some(violation(
            ID,
            format!(
                "{what} without an error text{}",
                d.causes
                    .first()
                    .map(|(c, r)| format!(", though {c} (record #{r})"))
                    .unwrap_or_default()
            ),
            records,
        ));
    };
    if d.causes.is_empty() || structured || d.quoted_in(error) {
        return None;
    }
    let (cause, rec) = &d.causes[0];
    Some(violation(
        ID,
        format!(
            "{what} with error {} but {cause} (record #{rec}) and the error quotes none of it (expected one of: {})",
            show(error),
            d.tokens()
        ),
        records,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::artifacts::EndReport;
    use crate::invariants::testkit::*;
    use serde_json::json;

    const S: &str = "name: t\ndrive: {turns: [{prompt: one}]}\nscript:\n  - turn: {reply: x}\n";
    const AT: &str = "/repo/scenarios/test.yaml:4:5";

    #[test]
    fn numbers_are_found_standalone() {
        let got = numbers_in("exit code 1; x86 signal -11 (139) v2.1");
        assert_eq!(got, vec![1, -11, 139, 1]);
    }

    fn crashed(code: Option<i32>) -> Vec<fake_claude::transcript::Record> {
        let mut t = Tr::new();
        t.stdin(user("one"));
        t.prompt_step(AT);
        t.push(Event::Stderr {
            len: 20,
            text: Some("Error: API overloaded\n".into()),
            flood: false,
            blocked_us: 0,
        });
        match code {
            Some(c) => {
                t.exit(c);
            }
            None => {
                t.push(Event::Kill {
                    signal: "SIGSEGV".into(),
                });
            }
        }
        t.recs
    }

    #[test]
    fn crash_diagnosis_must_be_quoted() {
        let s = scenario(S);
        for (error, ok) in [
            ("the CLI exited with code 2", true),
            ("claude failed: Error: API overloaded", true),
            ("something went wrong", false),
        ] {
            let r = run(crashed(Some(2)), vec![failed(0, error)]);
            assert_eq!(errors_surfaced(&r, &s).is_empty(), ok, "{error}");
        }
        let r = run(crashed(None), vec![failed(0, "killed by signal 11")]);
        assert_eq!(errors_surfaced(&r, &s), vec![]);
        let r = run(crashed(None), vec![failed(0, "CLI crashed (SIGSEGV)")]);
        assert_eq!(errors_surfaced(&r, &s), vec![]);
        let r = run(crashed(None), vec![failed(0, "oops")]);
        let v = errors_surfaced(&r, &s);
        assert_eq!(v.len(), 1);
        assert!(v[0].message.contains("died by SIGSEGV"), "{}", v[0].message);
    }

    #[test]
    fn every_common_spelling_of_a_signal_counts() {
        let s = scenario(S);
        for error in [
            "signal: segmentation fault",
            "Segmentation fault (core dumped)",
            "claude was terminated by SIGSEGV",
            "exit status 139",
            "exit code -11",
            "died with <Signals.SIGSEGV: 11>",
        ] {
            let r = run(crashed(None), vec![failed(0, error)]);
            assert_eq!(errors_surfaced(&r, &s), vec![], "{error}");
        }
        let r = run(crashed(None), vec![failed(0, "exit status 1")]);
        assert_eq!(errors_surfaced(&r, &s).len(), 1);
    }

    #[test]
    fn fake_claudes_own_exit_codes_are_never_demanded() {
        let s = scenario(S);
        // The script's expectation failed: exit 97 is fake-claude's, not the CLI's diagnosis.
        let mut t = Tr::new();
        t.stdin(user("one"));
        t.prompt_step(AT);
        t.push(Event::Note {
            text: "expectation failed: x".into(),
        });
        t.exit(97);
        let r = run(
            t.recs,
            vec![failed(0, "ProcessTransport is not ready for writing")],
        );
        assert_eq!(errors_surfaced(&r, &s), vec![]);
        // Its watchdog ended a hanging run: 98 is not a diagnosis either.
        let mut t = Tr::new();
        t.stdin(user("one"));
        t.prompt_step(AT);
        t.push(Event::Watchdog { after_ms: 60_000 });
        t.exit(98);
        let r = run(t.recs, vec![failed(0, "turn timed out")]);
        assert_eq!(errors_surfaced(&r, &s), vec![]);
        // A failed turn still needs a text.
        let r = run(crashed(Some(97)), vec![failed(0, " ")]);
        assert_eq!(errors_surfaced(&r, &s).len(), 1);
        // A plain `exit 97` with no failed expectation is a real exit code to quote.
        let r = run(crashed(Some(97)), vec![failed(0, "it broke")]);
        assert_eq!(errors_surfaced(&r, &s).len(), 1);
    }

    #[test]
    fn error_results_and_policy_failures() {
        let s = scenario(S);
        let mut t = Tr::new();
        t.stdin(user("one"));
        t.prompt_step(AT);
        let r = t.out(
            vec![
                json!({"type": "result", "subtype": "error_during_execution", "is_error": true,
                        "errors": ["Rate limit exceeded"]}),
            ],
            AT,
        );
        let recs = t.done();
        let bad = run(recs.clone(), vec![failed(0, "turn failed")]);
        let v = errors_surfaced(&bad, &s);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].records, vec![r]);
        let good = run(recs.clone(), vec![failed(0, "error: rate limit exceeded")]);
        assert_eq!(errors_surfaced(&good, &s), vec![]);
        let empty = run(recs, vec![turn(0, "failed", None)]);
        assert!(
            errors_surfaced(&empty, &s)[0]
                .message
                .contains("without an error text")
        );

        // The supervisor's own refusal: any text will do, but there must be one.
        let mut t = Tr::new();
        t.turn("one", AT, "x");
        let recs = t.done();
        let r = run(recs.clone(), vec![failed(0, "background launch refused")]);
        assert_eq!(errors_surfaced(&r, &s), vec![]);
        let r = run(recs, vec![failed(0, "  ")]);
        assert_eq!(errors_surfaced(&r, &s).len(), 1);
    }

    #[test]
    fn end_errors() {
        let s = scenario(S);
        let mut r = run(crashed(Some(3)), vec![failed(0, "exit 3")]);
        r.report.end = Some(EndReport {
            status: "error".into(),
            error: Some("CLI failed".into()),
            cli_exit_code: None,
            cli_signal: None,
            at_ms: None,
        });
        let v = errors_surfaced(&r, &s);
        assert_eq!(v.len(), 1);
        assert!(v[0].message.starts_with("the run ended in error"));
        r.report.end.as_mut().unwrap().cli_exit_code = Some(3);
        assert_eq!(errors_surfaced(&r, &s), vec![]);
    }
}
