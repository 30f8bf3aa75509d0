//! The smoke version of the fuzz targets (`fuzz/`), in the default `cargo test`: the same
//! checks ([`fake_claude::robustness`]) on a few hundred proptest inputs each — arbitrary bytes,
//! the library's scenarios with random edits, and JSON lines with pattern markers cut into
//! random chunks. Seconds, not hours: the fuzzer goes deeper; this keeps CI honest.
//! Inputs the fuzzer found are kept in `regressions` below.

use std::path::PathBuf;

use fake_claude::robustness::{check_scenario, check_stdin};
use proptest::prelude::*;
use serde_json::Value;

/// Inputs the fuzzer once found panicking (`fuzz/artifacts/`), kept as regression tests.
const REGRESSIONS: &[(&str, &[u8])] = &[
    // An error pointing past the end of a last line that ends in a multi-byte character (after
    // lossy UTF-8 decoding): the snippet renderer sliced inside the character.
    ("scenario_loader", b"# ya\x88\xa2\xdc\xdf\x86\xdf\xd7\x9e"),
];

#[test]
fn regressions() {
    for (target, input) in REGRESSIONS {
        match *target {
            "scenario_loader" => check_scenario(input),
            "stdin_lines" => check_stdin(input),
            other => panic!("unknown fuzz target {other}"),
        }
    }
}

fn library() -> Vec<String> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let mut out = Vec::new();
    let mut dirs = vec![root];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).expect("scenarios/").flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "yaml") {
                out.push(std::fs::read_to_string(&p).expect("scenario file"));
            }
        }
    }
    out.sort();
    out
}

/// YAML and scenario-language fragments an edit may insert.
const FRAGMENTS: &[&str] = &[
    "\n",
    " ",
    "  ",
    ":",
    "- ",
    "{",
    "}",
    "[",
    "]",
    "\"",
    "'",
    "#",
    "&a ",
    "*a",
    "!!str ",
    "|",
    ">",
    "---\n",
    "...",
    "~",
    "null",
    "-1",
    "1e999",
    "0x1F",
    "99999999999999999999",
    "1ms",
    "10s",
    "-5ms",
    "{{ x }}",
    "{{",
    "}}",
    "{...}",
    "[..]",
    "{absent}",
    "emit:",
    "turn: {}",
    "expect: {match: {type: user}}",
    "repeat: {times: 3, steps: []}",
    "sleep: 5ms",
    "raw: ",
    "hex: zz",
    "kill: SIGNOPE",
    "script:",
    "handlers:",
    "drive:",
    "profile: 9.9.9",
    "\t",
    "\u{feff}",
    "é",
    "\u{0}",
];

#[derive(Debug, Clone)]
enum Edit {
    Delete(usize, usize),
    Insert(usize, usize),
    DuplicateLine(usize),
}

fn apply(text: &str, edits: &[Edit]) -> Vec<u8> {
    let mut b = text.as_bytes().to_vec();
    for e in edits {
        let at = |i: usize| if b.is_empty() { 0 } else { i % (b.len() + 1) };
        match *e {
            Edit::Delete(i, n) => {
                let s = at(i);
                let end = (s + n % 16).min(b.len());
                b.drain(s..end);
            }
            Edit::Insert(i, f) => {
                let s = at(i);
                let frag = FRAGMENTS[f % FRAGMENTS.len()].as_bytes();
                b.splice(s..s, frag.iter().copied());
            }
            Edit::DuplicateLine(i) => {
                let s = at(i);
                let start = b[..s]
                    .iter()
                    .rposition(|&c| c == b'\n')
                    .map_or(0, |p| p + 1);
                let end = b[s..]
                    .iter()
                    .position(|&c| c == b'\n')
                    .map_or(b.len(), |p| s + p + 1);
                let line = b[start..end].to_vec();
                b.splice(end..end, line);
            }
        }
    }
    b
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), any::<usize>()).prop_map(|(i, n)| Edit::Delete(i, n)),
        (any::<usize>(), any::<usize>()).prop_map(|(i, f)| Edit::Insert(i, f)),
        any::<usize>().prop_map(Edit::DuplicateLine),
    ]
}

/// JSON values whose strings are drawn from markers and the protocol's words.
fn json_value() -> impl Strategy<Value = Value> {
    let word = prop_oneof![
        Just("{...}".to_string()),
        Just("{absent}".to_string()),
        Just("...".to_string()),
        Just("[..]".to_string()),
        Just("a[..]b[..]".to_string()),
        Just("control_request".to_string()),
        Just("user".to_string()),
        Just("{{ session_id }}".to_string()),
        "[a-z\\[\\].{}]{0,12}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        word.clone().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(word.clone(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn loader_never_panics_on_bytes(data in prop::collection::vec(any::<u8>(), 0..512)) {
        check_scenario(&data);
    }

    #[test]
    fn loader_never_panics_on_edited_scenarios(
        pick in any::<prop::sample::Index>(),
        edits in prop::collection::vec(edit(), 1..6),
    ) {
        let lib = library();
        let text = pick.get(&lib);
        check_scenario(&apply(text, &edits));
    }

    #[test]
    fn stdin_handling_never_panics_on_bytes(data in prop::collection::vec(any::<u8>(), 0..1024)) {
        check_stdin(&data);
    }

    #[test]
    fn stdin_handling_keeps_json_lines_intact(
        chunk in any::<u8>(),
        values in prop::collection::vec(json_value(), 1..6),
        tail in prop::collection::vec(any::<u8>(), 0..8),
    ) {
        let mut data = vec![chunk];
        for v in &values {
            data.extend(serde_json::to_vec(v).unwrap());
            data.push(b'\n');
        }
        data.extend(tail);
        check_stdin(&data);
    }
}
