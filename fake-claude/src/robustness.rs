//! Properties that hold for *any* input, as executable checks: the scenario loader and the
//! stdin line handling + matcher never panic, and malformed input gives an error that says
//! where. The cargo-fuzz targets (`fuzz/`) and the proptest smoke test
//! (`tests/robustness.rs`, part of `cargo test`) both call these, so the fuzzer and CI check
//! the same thing. A check that fails panics with what was wrong.

use serde_json::{Value, json};

use crate::engine::input::{Lines, decode};
use crate::{matcher, scenario, template};

/// The source name errors must point into.
pub const SOURCE: &str = "fuzz.yaml";

/// Load `data` as a scenario file. It loads, or the error names `fuzz.yaml:line:column` (or
/// at least the file). Loaded scenarios survive what the fake does with them next.
pub fn check_scenario(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    match scenario::load_str(&text, SOURCE) {
        Ok(loaded) => {
            let _ = loaded.profile();
            for step in &loaded.scenario.script {
                let at = loaded.location(step);
                assert!(at.starts_with(SOURCE), "step location {at:?}");
            }
            serde_json::to_value(&loaded.scenario).expect("a loaded scenario serializes");
        }
        Err(e) => {
            assert!(
                e.message.contains(&format!("{SOURCE}:")),
                "the error does not say where: {:?}",
                e.message
            );
        }
    }
}

/// Feed `data[1..]` to the stdin line splitter in chunks of `data[0] % 17 + 1` bytes (stdin
/// arrives in whatever pieces the kernel gives), decode every line as the engine does, and run
/// the matcher and the routing look-ups on what parses. Nothing is lost or altered on the way,
/// and every value without pattern markers matches itself.
pub fn check_stdin(data: &[u8]) {
    let Some((&first, stream)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(first % 17) + 1;
    let mut lines = Lines::default();
    let mut got = Vec::new();
    for piece in stream.chunks(chunk) {
        got.extend(lines.push(piece));
    }
    got.extend(lines.finish());
    let mut rebuilt = Vec::with_capacity(stream.len());
    for (i, l) in got.iter().enumerate() {
        assert!(!l.bytes.contains(&b'\n'), "line {i} holds a newline");
        assert!(
            l.terminated || i + 1 == got.len(),
            "only the last line may lack its newline"
        );
        rebuilt.extend_from_slice(&l.bytes);
        if l.terminated {
            rebuilt.push(b'\n');
        }
    }
    assert_eq!(rebuilt, stream, "the lines are not the bytes read");

    let mut pattern: Option<Value> = None;
    for l in got {
        let bytes = l.bytes.clone();
        let d = decode(l.bytes);
        match (&d.raw, &d.b64) {
            (Some(raw), None) => assert_eq!(raw.as_bytes(), bytes.as_slice()),
            (None, Some(_)) => assert!(std::str::from_utf8(&bytes).is_err()),
            other => panic!("a line is recorded as text or base64, not {other:?}"),
        }
        let Ok(msg) = d.msg else { continue };
        route(&msg);
        if let Some(p) = &pattern {
            let _ = matcher::validate_pattern(p);
            if let Err(m) = matcher::matches(p, &msg) {
                assert!(!m.to_string().is_empty());
            }
        } else {
            pattern = Some(msg.clone());
        }
        if !has_markers(&msg) {
            assert!(
                matcher::matches(&msg, &msg).is_ok(),
                "a value without markers must match itself: {msg}"
            );
        }
        // Scenario templates are rendered against values like these.
        let vars = json!({"prompt": msg, "request": msg});
        if let Some(raw) = &d.raw {
            let _ = template::render_str(raw, &vars);
        }
    }
}

/// The look-ups the engine does on every stdin message to route it.
fn route(msg: &Value) {
    let _ = matcher::kind(msg);
    for path in [
        "type",
        "request_id",
        "request.subtype",
        "response.request_id",
        "message.content.0.text",
        "uuid",
    ] {
        let _ = matcher::get_path(msg, path);
    }
}

/// Whether a string anywhere in `v` (keys included) holds one of the matcher's markers.
fn has_markers(v: &Value) -> bool {
    let marked = |s: &str| {
        ["{...}", "{absent}", "...", "[..]"]
            .iter()
            .any(|m| s.contains(m))
    };
    match v {
        Value::String(s) => marked(s),
        Value::Array(a) => a.iter().any(has_markers),
        Value::Object(o) => o.iter().any(|(k, v)| marked(k) || has_markers(v)),
        _ => false,
    }
}
