//! Metamorphic transforms: changes to a scenario that a correct supervisor must not notice —
//! the same conversation re-chunked, delayed, padded with unknown fields or unknown messages, or
//! accompanied by stderr noise. Each works on the scenario value (the YAML tree), so it applies
//! to any scenario, generated or not.

use proptest::prelude::*;
use serde_json::{Value, json};

#[derive(Debug, Clone)]
pub enum Transform {
    /// Every stdout write cut into pieces of these sizes (`chunking`), boundaries anywhere,
    /// inside multi-byte characters too.
    Rechunk(Vec<usize>),
    /// Pauses (ms) at these step positions.
    Delay(Vec<(u16, u8)>),
    /// An undocumented field on every generated message and result.
    PadFields,
    /// Unknown messages (top-level types and `system` subtypes) at these positions.
    PadMessages(Vec<(u16, bool)>),
    /// Stderr lines at these positions.
    StderrNoise(Vec<(u16, String)>),
}

impl Transform {
    /// The property id this transform checks.
    pub fn property(&self) -> &'static str {
        match self {
            Transform::Rechunk(_) => "rechunk",
            Transform::Delay(_) => "delay",
            Transform::PadFields => "pad-fields",
            Transform::PadMessages(_) => "pad-messages",
            Transform::StderrNoise(_) => "stderr-noise",
        }
    }

    pub fn apply(&self, scenario: &Value) -> Value {
        let mut s = scenario.clone();
        match self {
            Transform::Rechunk(sizes) => {
                s["chunking"] = json!({ "sizes": sizes });
            }
            Transform::Delay(at) => {
                for (pos, ms) in at {
                    insert(&mut s, *pos, json!({ "sleep": format!("{}ms", ms) }));
                }
            }
            Transform::PadFields => {
                if let Some(script) = s.get_mut("script") {
                    pad(script);
                }
            }
            Transform::PadMessages(at) => {
                for (i, (pos, system)) in at.iter().enumerate() {
                    let m = if *system {
                        json!({"emit": {"json": {"type": "system", "subtype": "zz_metamorphic", "n": i, "session_id": "{{ session_id }}"}}})
                    } else {
                        json!({"emit": {"json": {"type": "zz_metamorphic", "n": i, "data": {"é": "✓"}}}})
                    };
                    insert(&mut s, *pos, m);
                }
            }
            Transform::StderrNoise(at) => {
                for (pos, text) in at {
                    insert(&mut s, *pos, json!({ "stderr": { "text": text } }));
                }
            }
        }
        s
    }
}

pub fn transform() -> impl Strategy<Value = Transform> {
    let pos = || any::<u16>();
    prop_oneof![
        proptest::collection::vec(
            prop_oneof![3 => 1usize..8, 2 => 8usize..200, 1 => 200usize..5000],
            1..6
        )
        .prop_map(Transform::Rechunk),
        proptest::collection::vec((pos(), 1u8..12), 1..6).prop_map(Transform::Delay),
        Just(Transform::PadFields),
        proptest::collection::vec((pos(), any::<bool>()), 1..5).prop_map(Transform::PadMessages),
        proptest::collection::vec(
            (
                pos(),
                proptest::sample::select(vec![
                    "[DEBUG] MCP server ready",
                    "warning: ünïcode noise ✓",
                    "Error: this is only noise",
                    "{\"type\":\"result\",\"result\":\"not stdout\"}",
                ])
                .prop_map(str::to_string)
            ),
            1..6
        )
        .prop_map(Transform::StderrNoise),
    ]
}

/// The turns' step lists, where an insertion lands inside a turn (not inside `if`/`repeat`,
/// whose branches may not run).
fn lists(s: &mut Value) -> Vec<&mut Vec<Value>> {
    let Some(Value::Array(script)) = s.get_mut("script") else {
        return Vec::new();
    };
    script
        .iter_mut()
        .filter_map(
            |step| match step.get_mut("turn").and_then(|t| t.get_mut("steps")) {
                Some(Value::Array(steps)) => Some(steps),
                _ => None,
            },
        )
        .collect()
}

/// Insert `step` at slot `pos` (modulo the number of slots) across the turns' step lists and
/// the top-level script.
fn insert(s: &mut Value, pos: u16, step: Value) {
    let turn_slots: usize = lists(s).iter().map(|l| l.len() + 1).sum();
    let top_slots = match s.get("script") {
        Some(Value::Array(a)) => a.len() + 1,
        _ => return,
    };
    let mut slot = usize::from(pos) % (turn_slots + top_slots);
    if slot < turn_slots {
        for l in lists(s) {
            if slot <= l.len() {
                l.insert(slot, step);
                return;
            }
            slot -= l.len() + 1;
        }
    } else if let Some(Value::Array(a)) = s.get_mut("script") {
        a.insert(slot - turn_slots, step);
    }
}

/// Add an undocumented field to every generated message (`with`), exact message (`json`) and
/// turn result (`result_with`), everywhere in the script.
fn pad(v: &mut Value) {
    match v {
        Value::Array(a) => a.iter_mut().for_each(pad),
        Value::Object(o) => {
            for (k, child) in o.iter_mut() {
                match k.as_str() {
                    "emit" => {
                        if let Value::Object(e) = child {
                            if let Some(Value::Object(j)) = e.get_mut("json") {
                                j.insert("zz_padding".into(), json!({"ünknown": true}));
                            } else if !e.contains_key("control_response") {
                                let with = e.entry("with").or_insert_with(|| json!({}));
                                if let Value::Object(w) = with {
                                    w.insert("zz_padding".into(), json!({"ünknown": true}));
                                }
                            }
                        }
                    }
                    "turn" => {
                        if let Value::Object(t) = child {
                            let with = t.entry("result_with").or_insert_with(|| json!({}));
                            if let Value::Object(w) = with {
                                w.insert("zz_padding".into(), json!(1));
                            }
                            if let Some(steps) = t.get_mut("steps") {
                                pad(steps);
                            }
                        }
                    }
                    _ => pad(child),
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insertions_land_in_turns_and_the_script() {
        let s = json!({"script": [{"turn": {"steps": [{"note": "a"}]}}, {"exit": 0}]});
        // 2 turn slots, 3 top-level slots.
        let mut seen = Vec::new();
        for pos in 0..5u16 {
            let t = Transform::StderrNoise(vec![(pos, "x".into())]).apply(&s);
            seen.push(t.to_string());
        }
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 5, "{seen:#?}");
    }

    #[test]
    fn padding_reaches_nested_emits_but_not_control_responses() {
        let s = json!({"script": [
            {"turn": {"steps": [{"if": {"when": {}, "then": [{"emit": {"assistant": {"text": "a"}}}]}}]}},
            {"emit": {"control_response": {"request_id": "r"}}},
            {"emit": {"json": {"type": "x"}}}
        ]});
        let t = Transform::PadFields.apply(&s).to_string();
        assert_eq!(t.matches("zz_padding").count(), 3, "{t}");
    }
}
