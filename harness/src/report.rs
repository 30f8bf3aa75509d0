//! Parsing and validating the adapter's report: JSONL on stdout, one object per line,
//! `{"type":"turn"|"event"|"end",...}` (docs/adapters.md). Whatever the adapter printed, the
//! result is a [`Report`] whose `problems` list every way it broke the contract — never a panic,
//! never an early return that hides later lines.

use fake_claude::matcher::kind;
use serde_json::{Map, Value};

use crate::artifacts::{EndReport, Report, TurnReport};

/// The turn statuses of the adapter contract (docs/adapters.md §3.1).
pub const TURN_STATUSES: [&str; 5] = ["completed", "failed", "aborted", "timeout", "blocked"];
const END_STATUSES: [&str; 2] = ["ok", "error"];

/// Parse `stdout`. `truncated` says the harness stopped storing it (size bound); `plan_turns`
/// is how many turns the plan had, when known (every one must be reported).
pub fn parse(stdout: &[u8], truncated: bool, plan_turns: Option<usize>) -> Report {
    let mut r = Report::default();
    let mut after_end = false;
    let body = stdout.strip_suffix(b"\n").unwrap_or(stdout);
    if !stdout.is_empty() {
        for (i, raw) in body.split(|&b| b == b'\n').enumerate() {
            let n = i + 1;
            let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
            if after_end {
                r.problems.push(format!(
                    "line {n}: output after the end line: {}",
                    excerpt(raw)
                ));
                continue;
            }
            if let Some(ended) = line(&mut r, n, raw) {
                after_end = ended;
            }
        }
    }
    if truncated {
        r.problems
            .push("the report exceeded the harness's size bound; the rest was discarded".into());
    }
    if stdout.is_empty() {
        r.problems
            .push("empty report: the adapter printed nothing on stdout".into());
    } else if r.end.is_none() {
        r.problems
            .push("missing end line: the report has no {\"type\":\"end\"}".into());
    }
    if let Some(n) = plan_turns
        && !stdout.is_empty()
        && r.turns.len() != n
    {
        r.problems.push(format!(
            "the report has {} turn line(s), the plan has {n} turn(s)",
            r.turns.len()
        ));
    }
    r
}

/// Put arrival times on the parsed lines: `times[k]` is when line k+1 of `stdout` was read (ms
/// since the adapter's spawn). Lines are matched in order by type, as `parse` read them.
pub fn stamp(r: &mut Report, stdout: &[u8], times: &[f64]) {
    let body = stdout.strip_suffix(b"\n").unwrap_or(stdout);
    let (mut turns, mut events, mut ended) = (0usize, 0usize, false);
    r.event_at_ms = vec![None; r.events.len()];
    for (k, raw) in body.split(|&b| b == b'\n').enumerate() {
        let at = times.get(k).copied();
        let Ok(v) = serde_json::from_slice::<Value>(raw) else {
            continue;
        };
        match v.get("type").and_then(Value::as_str) {
            Some("turn") if turns < r.turns.len() => {
                r.turns[turns].at_ms = at;
                turns += 1;
            }
            Some("event") if events < r.events.len() => {
                r.event_at_ms[events] = at;
                events += 1;
            }
            Some("end") if !ended => {
                if let Some(end) = &mut r.end {
                    end.at_ms = at;
                }
                ended = true;
            }
            _ => {}
        }
    }
}

/// One line. Returns `Some(true)` when it was a valid end line.
fn line(r: &mut Report, n: usize, raw: &[u8]) -> Option<bool> {
    let bad = |r: &mut Report, why: String| r.problems.push(format!("line {n}: {why}"));
    if raw.iter().all(u8::is_ascii_whitespace) {
        bad(r, "empty line".into());
        return None;
    }
    let Ok(text) = std::str::from_utf8(raw) else {
        bad(r, format!("not UTF-8: {}", excerpt(raw)));
        return None;
    };
    let value: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            bad(r, format!("not JSON ({e}): {}", excerpt(raw)));
            return None;
        }
    };
    let Value::Object(obj) = value else {
        bad(r, format!("not a JSON object: {}", excerpt(raw)));
        return None;
    };
    match obj.get("type") {
        Some(Value::String(t)) if t == "turn" => {
            turn(r, n, &obj);
            None
        }
        Some(Value::String(t)) if t == "event" => {
            if !matches!(obj.get("name"), Some(Value::String(_))) {
                bad(r, "event without a string `name`".into());
            }
            r.events.push(Value::Object(obj));
            None
        }
        Some(Value::String(t)) if t == "end" => Some(end(r, n, &obj)),
        Some(Value::String(t)) => {
            bad(
                r,
                format!("unknown type `{t}` (expected turn, event or end)"),
            );
            None
        }
        _ => {
            bad(r, format!("no string `type`: {}", excerpt(raw)));
            None
        }
    }
}

fn turn(r: &mut Report, n: usize, obj: &Map<String, Value>) {
    let mut problems = Vec::new();
    let index = match obj.get("index") {
        Some(v) => match v.as_u64().and_then(|i| usize::try_from(i).ok()) {
            Some(i) => Some(i),
            None => {
                problems.push(format!(
                    "turn `index` must be a non-negative integer, got {v}"
                ));
                None
            }
        },
        None => {
            problems.push("turn without `index`".into());
            None
        }
    };
    let status = match obj.get("status") {
        Some(Value::String(s)) if TURN_STATUSES.contains(&s.as_str()) => s.clone(),
        Some(v) => {
            problems.push(format!(
                "turn `status` must be one of {}, got {v}",
                TURN_STATUSES.join(", ")
            ));
            v.as_str().unwrap_or("").to_string()
        }
        None => {
            problems.push("turn without `status`".into());
            String::new()
        }
    };
    let output = opt_string(obj, "output", "turn", &mut problems);
    let error = opt_string(obj, "error", "turn", &mut problems);
    let messages = match obj.get("messages") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a.clone(),
        Some(v) => {
            problems.push(format!("turn `messages` must be an array, got {}", kind(v)));
            Vec::new()
        }
    };
    let needs_input = match obj.get("needs_input") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(v) => {
            problems.push(format!(
                "turn `needs_input` must be a boolean, got {}",
                kind(v)
            ));
            None
        }
    };
    let session_id = opt_string(obj, "session_id", "turn", &mut problems);
    let expected = r.turns.len();
    if let Some(i) = index
        && i != expected
    {
        problems.push(format!("turn index {i} out of order (expected {expected})"));
    }
    r.problems
        .extend(problems.into_iter().map(|p| format!("line {n}: {p}")));
    r.turns.push(TurnReport {
        index: index.unwrap_or(expected),
        status,
        output,
        error,
        messages,
        needs_input,
        session_id,
        at_ms: None,
    });
}

/// Returns whether the end line was recorded (a second one is not).
fn end(r: &mut Report, n: usize, obj: &Map<String, Value>) -> bool {
    let mut problems = Vec::new();
    let status = match obj.get("status") {
        Some(Value::String(s)) if END_STATUSES.contains(&s.as_str()) => s.clone(),
        Some(v) => {
            problems.push(format!("end `status` must be ok or error, got {v}"));
            v.as_str().unwrap_or("").to_string()
        }
        None => {
            problems.push("end without `status`".into());
            String::new()
        }
    };
    let error = opt_string(obj, "error", "end", &mut problems);
    let cli_exit_code = opt_i32(obj, "cli_exit_code", &mut problems);
    let cli_signal = opt_i32(obj, "cli_signal", &mut problems);
    if status == "error" && error.is_none() {
        problems.push("end `status: error` without an `error` text".into());
    }
    r.problems
        .extend(problems.into_iter().map(|p| format!("line {n}: {p}")));
    r.end = Some(EndReport {
        status,
        error,
        cli_exit_code,
        cli_signal,
        at_ms: None,
    });
    true
}

fn opt_string(
    obj: &Map<String, Value>,
    key: &str,
    what: &str,
    problems: &mut Vec<String>,
) -> Option<String> {
    match obj.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(v) => {
            problems.push(format!(
                "{what} `{key}` must be a string or null, got {}",
                kind(v)
            ));
            None
        }
    }
}

fn opt_i32(obj: &Map<String, Value>, key: &str, problems: &mut Vec<String>) -> Option<i32> {
    match obj.get(key) {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_i64().and_then(|i| i32::try_from(i).ok()) {
            Some(i) => Some(i),
            None => {
                problems.push(format!("end `{key}` must be an integer or null, got {v}"));
                None
            }
        },
    }
}

/// The start of a line, for messages: at most 80 characters, lossily decoded.
fn excerpt(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    let mut out: String = text.chars().take(80).collect();
    if text.chars().nth(80).is_some() {
        out.push('…');
    }
    format!("{out:?}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const GOOD: &str = concat!(
        r#"{"type":"turn","index":0,"status":"completed","output":"hi","error":null,"messages":[{"type":"result"}]}"#,
        "\n",
        r#"{"type":"event","name":"injected_turn","data":{}}"#,
        "\n",
        r#"{"type":"end","status":"ok","error":null,"cli_exit_code":0,"cli_signal":null}"#,
        "\n"
    );

    #[test]
    fn a_good_report_has_no_problems() {
        let r = parse(GOOD.as_bytes(), false, Some(1));
        assert_eq!(r.problems, Vec::<String>::new());
        assert_eq!(r.turns[0].output.as_deref(), Some("hi"));
        assert_eq!(r.events.len(), 1);
        assert_eq!(r.end.unwrap().cli_exit_code, Some(0));
    }

    #[test]
    fn every_problem_is_listed_with_its_line() {
        let text = concat!(
            "hello\n",
            r#"{"type":"turn","index":1,"status":"done","output":3}"#,
            "\n",
            "[1,2]\n",
            r#"{"type":"bogus"}"#,
            "\n\n",
            r#"{"type":"end","status":"error"}"#,
            "\n",
            r#"{"type":"turn","index":0,"status":"completed"}"#,
            "\n"
        );
        let r = parse(text.as_bytes(), true, Some(2));
        let p = r.problems.join("\n");
        for needle in [
            "line 1: not JSON",
            "line 2: turn `status` must be one of",
            "line 2: turn `output` must be a string or null",
            "line 2: turn index 1 out of order (expected 0)",
            "line 3: not a JSON object",
            "line 4: unknown type `bogus`",
            "line 5: empty line",
            "line 6: end `status: error` without an `error` text",
            "line 7: output after the end line",
            "exceeded",
            "1 turn line(s), the plan has 2",
        ] {
            assert!(p.contains(needle), "missing {needle:?} in\n{p}");
        }
    }

    #[test]
    fn empty_and_endless_reports() {
        assert!(parse(b"", false, Some(1)).problems[0].contains("empty report"));
        let r = parse(br#"{"type":"event","name":"x"}"#, false, None);
        assert!(r.problems.iter().any(|p| p.contains("missing end line")));
        let r = parse(b"\xff\xfe\n", false, None);
        assert!(r.problems[0].contains("not UTF-8"));
    }

    proptest! {
        #[test]
        fn never_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = parse(&bytes, false, Some(1));
        }

        #[test]
        fn never_panics_on_json_shaped_lines(
            lines in proptest::collection::vec(
                prop_oneof![
                    Just(r#"{"type":"turn""#.to_string()),
                    Just(r#"{"type":"end","status":"ok"}"#.to_string()),
                    r#"\{"type":"(turn|event|end)","index":-?[0-9]{1,20},"status":"[a-z]{0,9}"\}"#,
                    r#"\{"type":"turn","index":[0-9],"status":"completed","messages":(\[\]|1|"x"|null)\}"#,
                    r#"\{"type":"end","status":"(ok|error)","cli_exit_code":(-?[0-9]{1,12}|1\.5|"x"|null)\}"#,
                    ".{0,40}",
                ],
                0..8,
            )
        ) {
            let text = lines.join("\n");
            let r = parse(text.as_bytes(), false, Some(2));
            // A valid end is recorded at most once, and later lines are all flagged.
            prop_assert!(r.turns.len() <= lines.len());
        }
    }
}
