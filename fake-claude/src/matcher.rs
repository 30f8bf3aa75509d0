//! Subset matching of JSON values against a pattern.
//!
//! Scenario scripts and the test harness describe the JSON they expect (a
//! request from the driving program, a line of stream output) as a *pattern*
//! rather than an exact value, so that tests stay robust against fields they
//! do not care about. The conventions are borrowed from snapbox's JSON
//! matching, so they will look familiar to Rust developers:
//!
//! - **Objects** match as subsets: every key of the pattern must be present
//!   in the actual object and match; extra actual keys are ignored. A pattern
//!   value of JSON `null` requires the key to be present *with* a null value.
//! - **`"{absent}"`** as an object value requires the key to be absent.
//! - **`"{...}"`** matches any value (inside an object the key must exist).
//! - **Strings** match exactly, unless they contain `[..]`: then the pattern
//!   is a glob, anchored at both ends, in which each `[..]` matches any
//!   (possibly empty) run of characters, newlines included.
//! - **Arrays** match element-wise and must have the same length, unless the
//!   last pattern element is the string `"..."`, which accepts any number of
//!   further actual elements.
//! - **Numbers** compare by value: `1` matches `1.0`, and integers compare
//!   exactly whatever their representation (`u64`, `i64` or `f64`).
//! - Everything else compares by equality.
//!
//! Paths (in [`Mismatch`], [`validate_pattern`] and [`get_path`]) are dotted:
//! `message.content.0.text`, where numeric segments index arrays and the empty
//! path is the root. Object keys containing a `.` cannot be addressed by
//! [`get_path`] and make reported paths ambiguous; stream-json never uses them.

use serde_json::{Map, Number, Value};
use std::fmt;

/// Pattern value that matches anything.
const ANY: &str = "{...}";
/// Pattern object value requiring the key to be missing.
const ABSENT: &str = "{absent}";
/// Last pattern array element allowing further actual elements.
const REST: &str = "...";
/// Glob wildcard inside pattern strings.
const GLOB: &str = "[..]";
/// Found values longer than this (rendered as JSON) are truncated in reasons,
/// so that one huge tool result does not drown the message.
const MAX_SHOWN_CHARS: usize = 200;

/// Why a value did not match: where (a dotted path like
/// `message.content.0.text`, `""` for the root) and what.
#[derive(Debug, Clone, PartialEq)]
pub struct Mismatch {
    /// Dotted path of the offending value; `""` for the root.
    pub path: String,
    /// Human-readable explanation, showing expected and found values.
    pub reason: String,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "at the root: {}", self.reason)
        } else {
            write!(f, "at `{}`: {}", self.path, self.reason)
        }
    }
}

impl std::error::Error for Mismatch {}

/// Does `actual` match `pattern`? `Ok(())` or the first mismatch found
/// (depth-first, object keys in pattern order; an array's length is checked
/// before its elements).
///
/// Never fails on a malformed pattern: misplaced markers are compared as plain
/// strings (`"..."`) or never match (`"{absent}"`). Use [`validate_pattern`]
/// to reject such patterns up front.
pub fn matches(pattern: &Value, actual: &Value) -> Result<(), Mismatch> {
    match_at(&Path::Root, pattern, actual, false)
}

/// Check a pattern is well-formed before use, so that a scenario loader can
/// reject it with a clear message instead of it silently never matching.
///
/// Returns `Err((path, message))` for the first problem found: `"..."` that is
/// not the last element of its array, `"{absent}"` anywhere but as an object
/// value, and object keys that are `"{...}"`, `"{absent}"` or contain a `[..]`
/// glob (keys are always matched literally).
pub fn validate_pattern(pattern: &Value) -> Result<(), (String, String)> {
    validate_at(&Path::Root, pattern, false)
}

/// Look up a dotted path (`a.b.0.c`): each segment is an object key, or an
/// array index when the value at that point is an array. An empty path is the
/// value itself; an empty segment (`a..b`, `a.`) never resolves, nor does a
/// non-canonical index (`01`, `+1`).
pub fn get_path<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    if path.is_empty() {
        return Some(value);
    }
    path.split('.').try_fold(value, |current, segment| {
        if segment.is_empty() {
            return None;
        }
        match current {
            Value::Object(map) => map.get(segment),
            Value::Array(items) => items.get(parse_index(segment)?),
            _ => None,
        }
    })
}

/// Parse a canonical array index: ASCII digits, no sign, no leading zero.
fn parse_index(segment: &str) -> Option<usize> {
    let canonical = !segment.is_empty()
        && segment.bytes().all(|b| b.is_ascii_digit())
        && (segment == "0" || !segment.starts_with('0'));
    if canonical {
        segment.parse().ok()
    } else {
        None
    }
}

/// A location in a JSON value, built on the stack while descending so that
/// no string is allocated unless a mismatch is actually reported.
enum Path<'a> {
    Root,
    Key(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Root => Ok(()),
            Path::Key(parent, key) => write_segment(f, parent, key),
            Path::Index(parent, index) => write_segment(f, parent, index),
        }
    }
}

fn write_segment(
    f: &mut fmt::Formatter<'_>,
    parent: &Path<'_>,
    segment: impl fmt::Display,
) -> fmt::Result {
    match parent {
        Path::Root => write!(f, "{segment}"),
        _ => write!(f, "{parent}.{segment}"),
    }
}

fn mismatch(path: &Path<'_>, reason: String) -> Result<(), Mismatch> {
    Err(Mismatch {
        path: path.to_string(),
        reason,
    })
}

/// `in_object` is true when `pattern` is the value of an object entry, the
/// only place where `"{absent}"` means something.
fn match_at(
    path: &Path<'_>,
    pattern: &Value,
    actual: &Value,
    in_object: bool,
) -> Result<(), Mismatch> {
    match (pattern, actual) {
        (Value::String(p), _) if p == ANY => Ok(()),
        (Value::String(p), _) if p == ABSENT && !in_object => mismatch(
            path,
            format!("`{ABSENT}` is only meaningful as the value of an object key"),
        ),
        (Value::Object(p), Value::Object(a)) => match_object(path, p, a),
        (Value::Array(p), Value::Array(a)) => match_array(path, p, a),
        (Value::String(p), Value::String(a)) if p.contains(GLOB) => {
            if glob_matches(p, a) {
                Ok(())
            } else {
                mismatch(
                    path,
                    format!("expected a string matching `{p}`, found {}", show(actual)),
                )
            }
        }
        (Value::String(p), _) if p.contains(GLOB) => mismatch(
            path,
            format!(
                "expected a string matching `{p}`, found {} {}",
                kind(actual),
                show(actual)
            ),
        ),
        (Value::Number(p), Value::Number(a)) if numbers_equal(p, a) => Ok(()),
        _ if pattern == actual => Ok(()),
        _ if kind(pattern) == kind(actual) => mismatch(
            path,
            format!("expected `{pattern}`, found {}", show(actual)),
        ),
        _ => mismatch(path, type_mismatch(pattern, actual)),
    }
}

fn match_object(
    path: &Path<'_>,
    pattern: &Map<String, Value>,
    actual: &Map<String, Value>,
) -> Result<(), Mismatch> {
    for (key, expected) in pattern {
        let found = actual.get(key);
        match (expected, found) {
            (Value::String(p), None) if p == ABSENT => {}
            (Value::String(p), Some(value)) if p == ABSENT => {
                return mismatch(
                    path,
                    format!("key `{key}` should be absent, found {}", show(value)),
                );
            }
            (_, None) => {
                let keys: Vec<&str> = actual.keys().map(String::as_str).collect();
                let keys = truncate(&format!("`{}`", keys.join("`, `")));
                let present = if actual.is_empty() {
                    "the object is empty".to_owned()
                } else {
                    format!("present keys: {keys}")
                };
                return mismatch(path, format!("missing key `{key}` ({present})"));
            }
            (_, Some(value)) => match_at(&Path::Key(path, key), expected, value, true)?,
        }
    }
    Ok(())
}

fn match_array(path: &Path<'_>, pattern: &[Value], actual: &[Value]) -> Result<(), Mismatch> {
    let (fixed, open_ended) = match pattern.split_last() {
        Some((Value::String(last), fixed)) if last == REST => (fixed, true),
        _ => (pattern, false),
    };
    let length_ok = if open_ended {
        actual.len() >= fixed.len()
    } else {
        actual.len() == fixed.len()
    };
    if !length_ok {
        let at_least = if open_ended { "at least " } else { "" };
        let plural = if fixed.len() == 1 { "" } else { "s" };
        return mismatch(
            path,
            format!(
                "expected {at_least}{} element{plural}, found {}: `{}`",
                fixed.len(),
                actual.len(),
                truncate(&serde_json::to_string(actual).unwrap_or_default())
            ),
        );
    }
    for (index, (expected, found)) in fixed.iter().zip(actual).enumerate() {
        match_at(&Path::Index(path, index), expected, found, false)?;
    }
    Ok(())
}

/// Anchored glob match where each `[..]` matches any run of characters.
/// Leftmost matching of the literal middle parts is sufficient because the
/// first and last parts are pinned to the ends beforehand.
fn glob_matches(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split(GLOB).collect();
    let [first, middle @ .., last] = parts.as_slice() else {
        return pattern == text;
    };
    let Some(rest) = text.strip_prefix(first) else {
        return false;
    };
    let Some(mut rest) = rest.strip_suffix(last) else {
        return false;
    };
    for part in middle {
        match rest.split_once(part) {
            Some((_, after)) => rest = after,
            None => return false,
        }
    }
    true
}

/// Numeric equality by value. Integers are compared exactly (as `i128`), so
/// large `u64`/`i64` values never collide through a lossy `f64` conversion.
fn numbers_equal(a: &Number, b: &Number) -> bool {
    match (as_integer(a), as_integer(b)) {
        (Some(x), Some(y)) => x == y,
        (Some(i), None) => b.as_f64().is_some_and(|f| float_equals_integer(f, i)),
        (None, Some(i)) => a.as_f64().is_some_and(|f| float_equals_integer(f, i)),
        (None, None) => matches!((a.as_f64(), b.as_f64()), (Some(x), Some(y)) if x == y),
    }
}

fn as_integer(n: &Number) -> Option<i128> {
    n.as_i64()
        .map(i128::from)
        .or_else(|| n.as_u64().map(i128::from))
}

fn float_equals_integer(f: f64, i: i128) -> bool {
    // Integral floats within this range convert to i128 exactly.
    const LIMIT: f64 = 170_141_183_460_469_231_731_687_303_715_884_105_728.0; // 2^127
    f.is_finite() && f.fract() == 0.0 && (-LIMIT..LIMIT).contains(&f) && f as i128 == i
}

/// "a string", "an object", ... for messages about JSON values (the harness uses it too).
pub fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Reason for values of different JSON types. Scalars are shown in full on
/// both sides because `"1"` vs `1` is a classic YAML pitfall worth spelling out.
fn type_mismatch(pattern: &Value, actual: &Value) -> String {
    let expected = match pattern {
        Value::Null => "null".to_owned(),
        Value::Array(_) | Value::Object(_) => kind(pattern).to_owned(),
        _ => format!("{} `{pattern}`", kind(pattern)),
    };
    let found = match actual {
        Value::Null => "null".to_owned(),
        _ => format!("{} {}", kind(actual), show(actual)),
    };
    format!("expected {expected}, found {found}")
}

/// A found value as compact JSON in backticks, truncated if long.
fn show(value: &Value) -> String {
    format!("`{}`", truncate(&value.to_string()))
}

/// Cut `text` to [`MAX_SHOWN_CHARS`] characters, saying how much was cut.
fn truncate(text: &str) -> String {
    match text.char_indices().nth(MAX_SHOWN_CHARS) {
        None => text.to_owned(),
        Some((cut, _)) => {
            let total = text.chars().count();
            let kept = text.get(..cut).unwrap_or(text);
            format!("{kept}… ({total} chars in total)")
        }
    }
}

/// `in_object` has the same meaning as in [`match_at`].
fn validate_at(path: &Path<'_>, pattern: &Value, in_object: bool) -> Result<(), (String, String)> {
    let fail = |at: &Path<'_>, message: String| Err((at.to_string(), message));
    match pattern {
        Value::String(s) if s == ABSENT && !in_object => fail(
            path,
            format!("`{ABSENT}` is only meaningful as the value of an object key"),
        ),
        Value::Array(items) => {
            let last = items.len().saturating_sub(1);
            for (index, item) in items.iter().enumerate() {
                let item_path = Path::Index(path, index);
                if index != last && item.as_str() == Some(REST) {
                    return fail(
                        &item_path,
                        format!("`{REST}` is only allowed as the last element of an array"),
                    );
                }
                validate_at(&item_path, item, false)?;
            }
            Ok(())
        }
        Value::Object(map) => {
            for (key, value) in map {
                let key_path = Path::Key(path, key);
                if key == ANY || key == ABSENT {
                    return fail(
                        &key_path,
                        format!(
                            "`{key}` cannot be used as an object key; it is only meaningful as a value"
                        ),
                    );
                }
                if key.contains(GLOB) {
                    return fail(
                        &key_path,
                        format!(
                            "`{GLOB}` globs are not supported in object keys (keys are matched literally)"
                        ),
                    );
                }
                validate_at(&key_path, value, true)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(pattern: Value, actual: Value) -> Result<(), Mismatch> {
        matches(&pattern, &actual)
    }

    fn fails(pattern: Value, actual: Value) -> Mismatch {
        match check(pattern.clone(), actual.clone()) {
            Err(m) => m,
            Ok(()) => panic!("{pattern} unexpectedly matched {actual}"),
        }
    }

    #[test]
    fn scalars_match_by_equality() {
        assert_eq!(check(json!(null), json!(null)), Ok(()));
        assert_eq!(check(json!(true), json!(true)), Ok(()));
        assert_eq!(check(json!("hi"), json!("hi")), Ok(()));
        let m = fails(json!(true), json!(false));
        assert_eq!(m.reason, "expected `true`, found `false`");
        let m = fails(json!("hi"), json!("ho"));
        assert_eq!(m.reason, r#"expected `"hi"`, found `"ho"`"#);
    }

    #[test]
    fn type_mismatches_name_both_types() {
        let m = fails(json!("x"), json!({"a": 1}));
        assert_eq!(
            m.reason,
            r#"expected a string `"x"`, found an object `{"a":1}`"#
        );
        let m = fails(json!({"a": 1}), json!("x"));
        assert_eq!(m.reason, r#"expected an object, found a string `"x"`"#);
        let m = fails(json!(1), json!("1"));
        assert_eq!(m.reason, r#"expected a number `1`, found a string `"1"`"#);
        let m = fails(json!(null), json!(0));
        assert_eq!(m.reason, "expected null, found a number `0`");
        let m = fails(json!([1]), json!(null));
        assert_eq!(m.reason, "expected an array, found null");
    }

    #[test]
    fn numbers_compare_by_value() {
        assert_eq!(check(json!(1), json!(1.0)), Ok(()));
        assert_eq!(check(json!(1.0), json!(1)), Ok(()));
        assert_eq!(check(json!(-3), json!(-3.0)), Ok(()));
        assert_eq!(check(json!(0), json!(-0.0)), Ok(()));
        assert_eq!(check(json!(2.5), json!(2.5)), Ok(()));
        assert_eq!(check(json!(u64::MAX), json!(u64::MAX)), Ok(()));
        assert_eq!(check(json!(5_i64), json!(5_u64)), Ok(()));
        assert!(check(json!(1), json!(1.5)).is_err());
        assert!(check(json!(-1), json!(u64::MAX)).is_err());
        // Neighbouring integers that collide as f64 must stay distinct.
        assert!(
            check(
                json!(9_007_199_254_740_993_u64),
                json!(9_007_199_254_740_992_u64)
            )
            .is_err()
        );
        assert!(
            check(
                json!(9_007_199_254_740_993_u64),
                json!(9_007_199_254_740_992.0)
            )
            .is_err()
        );
        assert_eq!(
            check(
                json!(9_007_199_254_740_992_u64),
                json!(9_007_199_254_740_992.0)
            ),
            Ok(())
        );
        // Floats far outside the integer range never equal an integer.
        assert!(check(json!(u64::MAX), json!(1e300)).is_err());
        assert_eq!(fails(json!(1), json!(2)).reason, "expected `1`, found `2`");
    }

    #[test]
    fn objects_match_as_subsets() {
        let actual = json!({"type": "result", "subtype": "success", "cost": 0.1});
        assert_eq!(check(json!({"type": "result"}), actual.clone()), Ok(()));
        assert_eq!(check(json!({}), actual.clone()), Ok(()));
        let m = fails(json!({"type": "result", "is_error": false}), actual);
        assert_eq!(m.path, "");
        assert_eq!(
            m.reason,
            "missing key `is_error` (present keys: `type`, `subtype`, `cost`)"
        );
        let m = fails(json!({"a": 1}), json!({}));
        assert_eq!(m.reason, "missing key `a` (the object is empty)");
    }

    #[test]
    fn null_requires_presence() {
        assert_eq!(check(json!({"a": null}), json!({"a": null})), Ok(()));
        assert!(
            fails(json!({"a": null}), json!({}))
                .reason
                .contains("missing key `a`")
        );
        let m = fails(json!({"a": null}), json!({"a": 1}));
        assert_eq!(m.path, "a");
        assert_eq!(m.reason, "expected null, found a number `1`");
    }

    #[test]
    fn absent_requires_absence() {
        let pattern = json!({"error": "{absent}"});
        assert_eq!(check(pattern.clone(), json!({"ok": true})), Ok(()));
        let m = fails(pattern.clone(), json!({"error": null}));
        assert_eq!(m.path, "");
        assert_eq!(m.reason, "key `error` should be absent, found `null`");
        let m = fails(
            json!({"outer": pattern}),
            json!({"outer": {"error": "boom"}}),
        );
        assert_eq!(m.path, "outer");
        assert_eq!(m.reason, r#"key `error` should be absent, found `"boom"`"#);
    }

    #[test]
    fn misplaced_absent_never_matches() {
        let m = fails(json!("{absent}"), json!("{absent}"));
        assert!(
            m.reason
                .contains("only meaningful as the value of an object key")
        );
        let m = fails(json!(["{absent}"]), json!([1]));
        assert_eq!(m.path, "0");
    }

    #[test]
    fn wildcard_matches_anything_but_requires_the_key() {
        for actual in [
            json!(null),
            json!(1),
            json!("s"),
            json!([1]),
            json!({"a": {}}),
        ] {
            assert_eq!(check(json!("{...}"), actual.clone()), Ok(()));
            assert_eq!(check(json!({"k": "{...}"}), json!({"k": actual})), Ok(()));
        }
        assert!(
            fails(json!({"k": "{...}"}), json!({}))
                .reason
                .contains("missing key `k`")
        );
        assert_eq!(
            check(json!([1, "{...}", 3]), json!([1, {"x": 2}, 3])),
            Ok(())
        );
    }

    #[test]
    fn globs() {
        assert!(glob_matches("please [..]", "please BGBASH"));
        assert!(glob_matches("please [..]", "please "));
        assert!(!glob_matches("please [..]", "please"));
        assert!(!glob_matches("please [..]", "xplease BGBASH"));
        assert!(glob_matches("[..]async_launched[..]", "async_launched"));
        assert!(glob_matches("[..]async_launched[..]", "x async_launched y"));
        assert!(!glob_matches("[..]async_launched[..]", "async launched"));
        assert!(glob_matches("[..]", ""));
        assert!(glob_matches("[..]", "anything\nat all"));
        assert!(glob_matches("[..][..]", "ab"));
        assert!(glob_matches("a[..]b[..]c", "aXbYc"));
        assert!(glob_matches("a[..]b[..]c", "abbc"));
        assert!(glob_matches("a[..]b[..]c", "abc"));
        assert!(!glob_matches("a[..]b[..]c", "acb"));
        // Prefix and suffix must not overlap.
        assert!(!glob_matches("ab[..]ba", "aba"));
        assert!(glob_matches("ab[..]ba", "abba"));
        // Anchored at the end too.
        assert!(!glob_matches("[..]end", "end of it"));
        // Multi-byte characters are handled on char boundaries.
        assert!(glob_matches("é[..]ü", "é—ü"));
        assert!(glob_matches("[..]—[..]", "é—ü"));
    }

    #[test]
    fn glob_strings_in_patterns() {
        assert_eq!(check(json!("id-[..]"), json!("id-42")), Ok(()));
        let m = fails(json!({"id": "id-[..]"}), json!({"id": "xx-42"}));
        assert_eq!(m.path, "id");
        assert_eq!(
            m.reason,
            r#"expected a string matching `id-[..]`, found `"xx-42"`"#
        );
        let m = fails(json!("[..]"), json!(42));
        assert_eq!(
            m.reason,
            "expected a string matching `[..]`, found a number `42`"
        );
    }

    #[test]
    fn arrays_match_element_wise() {
        assert_eq!(check(json!([]), json!([])), Ok(()));
        assert_eq!(
            check(json!([1, {"a": 2}]), json!([1, {"a": 2, "b": 3}])),
            Ok(())
        );
        let m = fails(json!([1, 2]), json!([1, 2, 3]));
        assert_eq!(m.path, "");
        assert_eq!(m.reason, "expected 2 elements, found 3: `[1,2,3]`");
        let m = fails(json!([1]), json!([]));
        assert_eq!(m.reason, "expected 1 element, found 0: `[]`");
        let m = fails(json!({"xs": [1, 5]}), json!({"xs": [1, 2]}));
        assert_eq!(m.path, "xs.1");
        assert_eq!(m.reason, "expected `5`, found `2`");
    }

    #[test]
    fn trailing_ellipsis_allows_more_elements() {
        assert_eq!(check(json!(["..."]), json!([])), Ok(()));
        assert_eq!(check(json!(["..."]), json!([1, 2])), Ok(()));
        assert_eq!(check(json!([1, "..."]), json!([1])), Ok(()));
        assert_eq!(check(json!([1, "..."]), json!([1, 2, 3])), Ok(()));
        let m = fails(json!([1, 2, "..."]), json!([1]));
        assert_eq!(m.reason, "expected at least 2 elements, found 1: `[1]`");
        let m = fails(json!([1, "..."]), json!([2, 1]));
        assert_eq!(m.path, "0");
        // Anywhere but last, "..." is a plain string.
        assert_eq!(check(json!(["...", 1]), json!(["...", 1])), Ok(()));
        assert!(check(json!(["...", 1]), json!([0, 1])).is_err());
        // As an object value it is a plain string too.
        assert!(check(json!({"a": "..."}), json!({"a": 1})).is_err());
    }

    #[test]
    fn first_mismatch_is_depth_first_in_pattern_order() {
        let pattern = json!({"b": {"x": 1, "y": 2}, "a": 3});
        let actual = json!({"a": 0, "b": {"y": 0, "x": 0}});
        assert_eq!(fails(pattern, actual).path, "b.x");
    }

    #[test]
    fn nested_paths_and_display() {
        let pattern = json!({"message": {"content": [{"type": "text", "text": "hi"}]}});
        let actual = json!({"message": {"content": [{"type": "text", "text": "bye"}]}});
        let m = fails(pattern, actual);
        assert_eq!(m.path, "message.content.0.text");
        assert_eq!(
            m.to_string(),
            r#"at `message.content.0.text`: expected `"hi"`, found `"bye"`"#
        );
        let root = fails(json!(1), json!(2));
        assert_eq!(root.to_string(), "at the root: expected `1`, found `2`");
    }

    #[test]
    fn long_found_values_are_truncated() {
        let long = "é".repeat(500);
        let m = fails(json!("short"), json!(long));
        assert!(m.reason.contains("… (502 chars in total)"), "{}", m.reason);
        assert!(m.reason.chars().count() < 300);
        let m = fails(json!([]), Value::Array(vec![json!(1); 1000]));
        assert!(m.reason.contains("chars in total"));
    }

    #[test]
    fn validate_accepts_well_formed_patterns() {
        let pattern = json!({
            "type": "assistant",
            "id": "{...}",
            "error": "{absent}",
            "text": "please [..]",
            "items": [1, {"k": "{absent}"}, "..."],
            "dots": "..."
        });
        assert_eq!(validate_pattern(&pattern), Ok(()));
        assert_eq!(validate_pattern(&json!("{...}")), Ok(()));
        assert_eq!(validate_pattern(&json!([])), Ok(()));
    }

    #[test]
    fn validate_rejects_malformed_patterns() {
        let err = |v: Value| validate_pattern(&v).err().map(|(path, _)| path);
        assert_eq!(err(json!({"a": ["...", 1]})), Some("a.0".to_owned()));
        assert_eq!(err(json!({"a": {"b[..]": 1}})), Some("a.b[..]".to_owned()));
        assert_eq!(err(json!({"{...}": 1})), Some("{...}".to_owned()));
        assert_eq!(err(json!({"{absent}": 1})), Some("{absent}".to_owned()));
        assert_eq!(err(json!("{absent}")), Some(String::new()));
        assert_eq!(err(json!([1, "{absent}"])), Some("1".to_owned()));
        assert_eq!(err(json!([[1, "...", "..."]])), Some("0.1".to_owned()));
        let (_, message) = validate_pattern(&json!(["...", "..."])).unwrap_err();
        assert!(message.contains("last element"), "{message}");
        let (_, message) = validate_pattern(&json!({"x[..]": 1})).unwrap_err();
        assert!(message.contains("object keys"), "{message}");
    }

    #[test]
    fn get_path_walks_objects_and_arrays() {
        let v = json!({"a": {"b": [10, {"c": "deep"}]}, "0": "zero", "": "empty"});
        assert_eq!(get_path(&v, ""), Some(&v));
        assert_eq!(get_path(&v, "a.b.0"), Some(&json!(10)));
        assert_eq!(get_path(&v, "a.b.1.c"), Some(&json!("deep")));
        assert_eq!(get_path(&v, "0"), Some(&json!("zero")));
        assert_eq!(get_path(&v, "a.b.2"), None);
        assert_eq!(get_path(&v, "a.b.x"), None);
        assert_eq!(get_path(&v, "a.b.01"), None);
        assert_eq!(get_path(&v, "a.b.+1"), None);
        assert_eq!(get_path(&v, "a.b.-1"), None);
        assert_eq!(get_path(&v, "a.b.99999999999999999999999"), None);
        assert_eq!(get_path(&v, "a..b"), None);
        assert_eq!(get_path(&v, "a."), None);
        assert_eq!(get_path(&v, "."), None);
        assert_eq!(get_path(&v, "a.b.1.c.d"), None);
        assert_eq!(get_path(&json!(5), "x"), None);
    }

    #[test]
    fn never_panics_on_odd_inputs() {
        let values = [
            json!(null),
            json!(""),
            json!("[..]"),
            json!("..."),
            json!("{absent}"),
            json!("{...}"),
            json!([]),
            json!(["..."]),
            json!(["...", "..."]),
            json!({}),
            json!({"": null, "{absent}": "{absent}"}),
            json!(f64::MAX),
            json!(i64::MIN),
            json!(u64::MAX),
        ];
        for pattern in &values {
            let _ = validate_pattern(pattern);
            for actual in &values {
                if let Err(m) = matches(pattern, actual) {
                    assert!(!m.to_string().is_empty());
                }
            }
        }
    }
}
