//! `{{ name.path }}` substitution in JSON values, keeping JSON types.
//!
//! Scenario scripts reuse values captured earlier in a run (a request id, a
//! tool-use id, ...) in the replies they send, so every string in a reply may
//! contain placeholders such as `{{ captures.rid }}`.
//!
//! # Syntax
//!
//! A placeholder is `{{`, optional whitespace, a dotted path, optional
//! whitespace, `}}`. The path starts with a variable name and continues with
//! names and array indices: `{{ captures.rid }}`, `{{x}}`,
//! `{{ request.content.0.text }}`. Names are `[A-Za-z_][A-Za-z0-9_]*`; indices
//! are non-negative integers without leading zeros. Lookup follows
//! [`crate::matcher::get_path`].
//!
//! The syntax is deliberately a strict subset of Jinja, so that moving to
//! minijinja later changes the meaning of no existing scenario. Hence these
//! are rejected even though they would be easy to support:
//!
//! - `-` in names (`{{ tool-id }}` is a subtraction in Jinja); use `_`;
//! - a Jinja keyword or literal as the variable name (`true`, `none`, `not`,
//!   ...);
//! - two indices in a row (`{{ m.0.1 }}`; minijinja lexes `0.1` as a float);
//! - filters, literals, operators and whitespace inside the path.
//!
//! Only `{{` is special here, whereas Jinja would also interpret `{%` and `{#`.
//!
//! There is **no escape syntax**: every `{{` in a templated string starts a
//! placeholder, and one that is unclosed or malformed is an error. To produce
//! a literal `{{`, pass it in through a variable: substituted values are never
//! rendered again.
//!
//! Note for YAML authors: an unquoted `key: {{ x }}` is a YAML flow mapping,
//! not a string; quote it (`key: "{{ x }}"`).
//!
//! # Rendering
//!
//! A string that is exactly one placeholder (nothing outside the braces) is
//! replaced by the variable's JSON value as is, so numbers stay numbers and
//! objects stay objects. Placeholders embedded in longer strings are
//! stringified: strings are inserted raw, other values as compact JSON.
//! Object keys are never templated. An undefined variable is an error.

use crate::matcher::get_path;
use serde_json::Value;
use std::fmt;

const OPEN: &str = "{{";
const CLOSE: &str = "}}";
/// Words that Jinja parses as literals or operators at the start of an
/// expression, so they cannot name a variable there.
const JINJA_KEYWORDS: &[&str] = &[
    "true", "false", "none", "True", "False", "None", "and", "or", "not", "in", "is", "if", "else",
];
/// Raw placeholder text and key lists longer than this are truncated in
/// errors, so that an unclosed `{{` early in a long text stays readable.
const MAX_SHOWN_CHARS: usize = 80;

/// A template that cannot be rendered: which placeholder and why.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateError {
    /// The variable path (`captures.rid`) for lookup errors; the raw
    /// placeholder text (`{{ a..b }}`) for syntax errors.
    pub variable: String,
    /// What is wrong: starts with `syntax error:` for malformed placeholders
    /// and with `undefined variable:` for failed lookups.
    pub message: String,
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`: {}", self.variable, self.message)
    }
}

impl std::error::Error for TemplateError {}

/// Substitute every `{{ expr }}` in every string of `value` (recursively;
/// object keys are not templated) with variables looked up in `vars`, a JSON
/// object. See the module documentation for the rules.
///
/// Only strings containing `{{` are touched, so rendering a value without
/// placeholders costs one clone.
pub fn render(value: &Value, vars: &Value) -> Result<Value, TemplateError> {
    let mut rendered = value.clone();
    render_in_place(&mut rendered, vars)?;
    Ok(rendered)
}

/// Render a single string with the same rules as [`render`]. Returns a
/// [`Value`] because a string that is exactly one placeholder takes the
/// variable's JSON type.
pub fn render_str(s: &str, vars: &Value) -> Result<Value, TemplateError> {
    let mut pieces = Pieces { rest: s };
    let mut out = String::new();
    let mut first = true;
    while let Some(piece) = pieces.next() {
        match piece {
            Piece::Text(text) => out.push_str(text),
            Piece::Placeholder(path) => {
                let value = lookup(path?, vars)?;
                if first && pieces.rest.is_empty() {
                    return Ok(value.clone());
                }
                match value {
                    Value::String(text) => out.push_str(text),
                    other => out.push_str(&other.to_string()),
                }
            }
        }
        first = false;
    }
    Ok(Value::String(out))
}

/// Check the syntax of every placeholder in `value`'s strings without
/// rendering, so that a loader can reject a malformed scenario up front.
pub fn validate_syntax(value: &Value) -> Result<(), TemplateError> {
    match value {
        Value::String(s) => Pieces { rest: s }.try_for_each(|piece| match piece {
            Piece::Placeholder(Err(error)) => Err(error),
            _ => Ok(()),
        }),
        Value::Array(items) => items.iter().try_for_each(validate_syntax),
        Value::Object(map) => map.values().try_for_each(validate_syntax),
        _ => Ok(()),
    }
}

/// Every variable path referenced in `value`'s strings, in order of
/// appearance, without duplicates, so that a loader can reject undefined
/// variables before a run starts. Malformed placeholders are skipped (see
/// [`validate_syntax`]).
pub fn variables(value: &Value) -> Vec<String> {
    let mut found = Vec::new();
    collect_variables(value, &mut found);
    found
}

/// Same as [`variables`], for a single string.
pub fn variables_in_str(s: &str) -> Vec<String> {
    let mut found = Vec::new();
    add_variables(s, &mut found);
    found
}

/// Does the string contain any placeholder, well-formed or not? A cheap
/// check that lets callers skip work.
pub fn has_placeholders(s: &str) -> bool {
    s.contains(OPEN)
}

fn render_in_place(value: &mut Value, vars: &Value) -> Result<(), TemplateError> {
    match value {
        Value::String(s) if has_placeholders(s) => *value = render_str(s, vars)?,
        Value::Array(items) => {
            for item in items {
                render_in_place(item, vars)?;
            }
        }
        Value::Object(map) => {
            for item in map.values_mut() {
                render_in_place(item, vars)?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn collect_variables(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::String(s) => add_variables(s, found),
        Value::Array(items) => items.iter().for_each(|item| collect_variables(item, found)),
        Value::Object(map) => map.values().for_each(|item| collect_variables(item, found)),
        _ => {}
    }
}

fn add_variables(s: &str, found: &mut Vec<String>) {
    if !has_placeholders(s) {
        return;
    }
    for piece in (Pieces { rest: s }) {
        if let Piece::Placeholder(Ok(path)) = piece
            && !found.iter().any(|known| known == path)
        {
            found.push(path.to_owned());
        }
    }
}

/// A piece of a templated string: literal text, or a placeholder whose path
/// has been syntax-checked.
enum Piece<'a> {
    Text(&'a str),
    Placeholder(Result<&'a str, TemplateError>),
}

/// Splits a string into [`Piece`]s, left to right.
struct Pieces<'a> {
    rest: &'a str,
}

impl<'a> Iterator for Pieces<'a> {
    type Item = Piece<'a>;

    fn next(&mut self) -> Option<Piece<'a>> {
        if self.rest.is_empty() {
            return None;
        }
        if let Some(after_open) = self.rest.strip_prefix(OPEN) {
            let Some((inner, after)) = after_open.split_once(CLOSE) else {
                self.rest = "";
                return Some(Piece::Placeholder(Err(TemplateError {
                    variable: truncate(&format!("{OPEN}{after_open}")),
                    message: format!("syntax error: unclosed `{OPEN}`: no matching `{CLOSE}`"),
                })));
            };
            self.rest = after;
            return Some(Piece::Placeholder(parse_path(inner)));
        }
        let end = self.rest.find(OPEN).unwrap_or(self.rest.len());
        let (text, rest) = self.rest.split_at_checked(end).unwrap_or((self.rest, ""));
        self.rest = rest;
        Some(Piece::Text(text))
    }
}

/// Check the text between `{{` and `}}` and return the bare path.
fn parse_path(inner: &str) -> Result<&str, TemplateError> {
    let fail = |message: String| TemplateError {
        variable: truncate(&format!("{OPEN}{inner}{CLOSE}")),
        message: format!("syntax error: {message}"),
    };
    if inner.starts_with(['-', '+']) || inner.ends_with(['-', '+']) {
        return Err(fail(
            "Jinja whitespace control (`{{-`, `-}}`, `{{+`, `+}}`) is not supported".to_owned(),
        ));
    }
    let path = inner.trim_matches(|c: char| c.is_ascii_whitespace());
    if path.is_empty() {
        return Err(fail(
            "empty placeholder: expected a variable path such as `{{ captures.id }}`".to_owned(),
        ));
    }
    let mut previous_was_index = false;
    for (position, segment) in path.split('.').enumerate() {
        previous_was_index =
            check_segment(segment, position == 0, previous_was_index).map_err(fail)?;
    }
    Ok(path)
}

/// Check one dotted-path segment; returns whether it is an index.
fn check_segment(segment: &str, first: bool, after_index: bool) -> Result<bool, String> {
    if segment.is_empty() {
        return Err("empty path segment (stray `.`)".to_owned());
    }
    if segment.bytes().all(|b| b.is_ascii_digit()) {
        if first {
            return Err(format!(
                "a path must start with a variable name, not the index `{segment}`"
            ));
        }
        if segment.len() > 1 && segment.starts_with('0') {
            return Err(format!("index `{segment}` has a leading zero"));
        }
        if after_index {
            return Err(
                "two indices in a row are not supported (Jinja would read them as a number)"
                    .to_owned(),
            );
        }
        return Ok(true);
    }
    if !is_identifier(segment) {
        return Err(not_a_name(segment));
    }
    if first && JINJA_KEYWORDS.contains(&segment) {
        return Err(format!(
            "`{segment}` is a Jinja keyword, not a variable name"
        ));
    }
    Ok(false)
}

fn is_identifier(segment: &str) -> bool {
    let mut chars = segment.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn not_a_name(segment: &str) -> String {
    let hyphenated_name = !segment.starts_with('-') && is_identifier(&segment.replace('-', "_"));
    if segment.contains('-') && hyphenated_name {
        format!("`{segment}` is not a valid name: Jinja would read `-` as a subtraction; use `_`")
    } else {
        format!(
            "`{segment}` is not a name or an index: only dotted paths like `a.b.0` are supported \
             (no filters, literals, operators or inner whitespace)"
        )
    }
}

fn lookup<'v>(path: &str, vars: &'v Value) -> Result<&'v Value, TemplateError> {
    get_path(vars, path).ok_or_else(|| TemplateError {
        variable: path.to_owned(),
        message: format!("undefined variable: {}", why_undefined(path, vars)),
    })
}

/// Explain where the lookup of `path` stops, for the error message.
fn why_undefined(path: &str, vars: &Value) -> String {
    let mut current = vars;
    let mut resolved = String::new();
    for segment in path.split('.') {
        let Some(next) = get_path(current, segment) else {
            return describe_missing(&resolved, segment, current);
        };
        if !resolved.is_empty() {
            resolved.push('.');
        }
        resolved.push_str(segment);
        current = next;
    }
    // Unreachable for a path that failed to resolve; kept total regardless.
    format!("`{path}` could not be resolved")
}

fn describe_missing(resolved: &str, segment: &str, container: &Value) -> String {
    match (resolved.is_empty(), container) {
        (true, Value::Object(map)) if map.is_empty() => {
            format!("`{segment}` is not defined (no variables are defined)")
        }
        (true, Value::Object(map)) => format!(
            "`{segment}` is not defined (defined: {})",
            key_list(map.keys())
        ),
        (true, _) => format!("`{segment}` is not defined (the variables are not a JSON object)"),
        (false, Value::Object(map)) => format!(
            "`{resolved}` has no key `{segment}` (keys: {})",
            key_list(map.keys())
        ),
        (false, Value::Array(items)) if segment.bytes().all(|b| b.is_ascii_digit()) => {
            format!(
                "`{resolved}` has no index {segment} (length {})",
                items.len()
            )
        }
        (false, Value::Array(_)) => {
            format!("`{resolved}` is an array, so it has no key `{segment}`")
        }
        (false, scalar) => {
            let kind = match scalar {
                Value::Bool(_) => "a boolean",
                Value::Number(_) => "a number",
                Value::String(_) => "a string",
                _ => "null",
            };
            format!("`{resolved}` is {kind}, so it has no `{segment}`")
        }
    }
}

fn key_list<'k>(keys: impl Iterator<Item = &'k String>) -> String {
    let keys: Vec<&str> = keys.map(String::as_str).collect();
    if keys.is_empty() {
        "none".to_owned()
    } else {
        truncate(&format!("`{}`", keys.join("`, `")))
    }
}

/// Cut `text` to [`MAX_SHOWN_CHARS`] characters, marking the cut.
fn truncate(text: &str) -> String {
    match text.char_indices().nth(MAX_SHOWN_CHARS) {
        None => text.to_owned(),
        Some((cut, _)) => format!("{}…", text.get(..cut).unwrap_or(text)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vars() -> Value {
        json!({
            "captures": {"rid": "req-1", "n": 3, "obj": {"k": [1, 2]}, "none": null},
            "list": ["a", {"b": true}],
            "x": "plain",
            "snake_case_2": 2.5,
        })
    }

    fn render_ok(s: &str) -> Value {
        match render_str(s, &vars()) {
            Ok(v) => v,
            Err(e) => panic!("rendering {s:?} failed: {e}"),
        }
    }

    fn render_err(s: &str) -> TemplateError {
        match render_str(s, &vars()) {
            Ok(v) => panic!("rendering {s:?} unexpectedly gave {v}"),
            Err(e) => e,
        }
    }

    #[test]
    fn whole_placeholder_keeps_json_type() {
        assert_eq!(render_ok("{{ captures.n }}"), json!(3));
        assert_eq!(render_ok("{{captures.n}}"), json!(3));
        assert_eq!(render_ok("{{ \t captures.n\n }}"), json!(3));
        assert_eq!(render_ok("{{ captures.obj }}"), json!({"k": [1, 2]}));
        assert_eq!(render_ok("{{ captures.none }}"), json!(null));
        assert_eq!(render_ok("{{ list.1.b }}"), json!(true));
        assert_eq!(render_ok("{{ captures.obj.k.1 }}"), json!(2));
        assert_eq!(render_ok("{{ snake_case_2 }}"), json!(2.5));
        assert_eq!(render_ok("{{ x }}"), json!("plain"));
    }

    #[test]
    fn embedded_placeholders_are_stringified() {
        assert_eq!(render_ok("id={{ captures.rid }}"), json!("id=req-1"));
        assert_eq!(render_ok(" {{ captures.n }}"), json!(" 3"));
        assert_eq!(render_ok("{{ captures.n }} "), json!("3 "));
        assert_eq!(render_ok("{{ captures.n }}{{ x }}"), json!("3plain"));
        assert_eq!(render_ok("{{ list.0 }}-{{ list.0 }}"), json!("a-a"));
        assert_eq!(render_ok("o={{ captures.obj }}"), json!(r#"o={"k":[1,2]}"#));
        assert_eq!(render_ok("n={{ captures.none }}"), json!("n=null"));
        assert_eq!(render_ok("f={{ snake_case_2 }}"), json!("f=2.5"));
        assert_eq!(render_ok("é{{ x }}ü"), json!("éplainü"));
    }

    #[test]
    fn strings_without_placeholders_are_unchanged() {
        for s in [
            "",
            "plain",
            "{ x }",
            "}} {",
            "{x}}",
            "a { {b}}",
            "{%x%} {#c#}",
        ] {
            assert_eq!(render_ok(s), json!(s));
            assert!(!has_placeholders(s));
            assert!(variables_in_str(s).is_empty());
        }
    }

    #[test]
    fn substituted_values_are_not_rendered_again() {
        let vars = json!({"a": "{{ b }}", "b": 1});
        assert_eq!(render_str("{{ a }}", &vars), Ok(json!("{{ b }}")));
        assert_eq!(render_str("x{{ a }}", &vars), Ok(json!("x{{ b }}")));
    }

    #[test]
    fn extra_closing_braces_are_literal() {
        assert_eq!(render_ok("{{ x }}}"), json!("plain}"));
    }

    #[test]
    fn render_walks_values_but_not_keys() {
        let template = json!({
            "{{ x }}": "{{ captures.n }}",
            "nested": [{"id": "{{ captures.rid }}"}, "n={{ captures.n }}", 7, null, false],
        });
        let rendered = render(&template, &vars());
        assert_eq!(
            rendered,
            Ok(json!({
                "{{ x }}": 3,
                "nested": [{"id": "req-1"}, "n=3", 7, null, false],
            }))
        );
    }

    #[test]
    fn render_preserves_key_order() {
        let template = json!({"z": "{{ x }}", "a": 1, "m": "{{ x }}"});
        let keys: Vec<String> = match render(&template, &vars()) {
            Ok(Value::Object(map)) => map.keys().cloned().collect(),
            other => panic!("unexpected {other:?}"),
        };
        assert_eq!(keys, ["z", "a", "m"]);
    }

    #[test]
    fn render_without_placeholders_is_identity() {
        let value = json!({"a": [1, "two", {"three": null}], "b": "{ not one }"});
        assert_eq!(render(&value, &json!({})), Ok(value));
    }

    #[test]
    fn undefined_variables_are_errors_naming_them() {
        let e = render_err("{{ nope }}");
        assert_eq!(e.variable, "nope");
        assert!(e.message.contains("`nope` is not defined"), "{e}");
        assert!(e.message.contains("`captures`"), "{e}");
        let e = render_err("id={{ captures.missing }}");
        assert_eq!(e.variable, "captures.missing");
        assert!(e.message.contains("`captures` has no key `missing`"), "{e}");
        assert!(e.message.contains("`rid`"), "{e}");
        let e = render_err("{{ list.5 }}");
        assert_eq!(
            e.message,
            "undefined variable: `list` has no index 5 (length 2)"
        );
        let e = render_err("{{ list.b }}");
        assert_eq!(
            e.message,
            "undefined variable: `list` is an array, so it has no key `b`"
        );
        let e = render_err("{{ captures.rid.x }}");
        assert_eq!(
            e.message,
            "undefined variable: `captures.rid` is a string, so it has no `x`"
        );
        let e = render_err("{{ captures.none.x }}");
        assert!(e.message.contains("`captures.none` is null"), "{e}");
        assert_eq!(
            e.to_string(),
            "`captures.none.x`: undefined variable: `captures.none` is null, so it has no `x`"
        );
    }

    #[test]
    fn undefined_with_odd_vars() {
        let e = render_str("{{ a }}", &json!({})).unwrap_err();
        assert!(e.message.contains("no variables are defined"), "{e}");
        let e = render_str("{{ a }}", &json!([1])).unwrap_err();
        assert!(e.message.contains("not a JSON object"), "{e}");
        let e = render_str("{{ a }}", &json!(null)).unwrap_err();
        assert_eq!(e.variable, "a");
    }

    #[test]
    fn render_reports_first_error_in_order() {
        let template = json!({"a": "{{ x }}", "b": ["{{ first }}", "{{ second }}"]});
        let e = render(&template, &vars()).unwrap_err();
        assert_eq!(e.variable, "first");
    }

    #[test]
    fn syntax_errors_show_raw_text_and_cause() {
        let cases = [
            ("{{ x", "{{ x", "unclosed"),
            ("a {{ x }} b {{ y", "{{ y", "unclosed"),
            ("{{}}", "{{}}", "empty placeholder"),
            ("{{   }}", "{{   }}", "empty placeholder"),
            ("{{ a..b }}", "{{ a..b }}", "stray `.`"),
            ("{{ .a }}", "{{ .a }}", "stray `.`"),
            ("{{ a. }}", "{{ a. }}", "stray `.`"),
            ("{{ 0 }}", "{{ 0 }}", "must start with a variable name"),
            ("{{ list.01 }}", "{{ list.01 }}", "leading zero"),
            ("{{ list.0.1 }}", "{{ list.0.1 }}", "two indices in a row"),
            ("{{ tool-id }}", "{{ tool-id }}", "use `_`"),
            ("{{ a.b-c }}", "{{ a.b-c }}", "use `_`"),
            ("{{ true }}", "{{ true }}", "Jinja keyword"),
            ("{{ None }}", "{{ None }}", "Jinja keyword"),
            ("{{ not }}", "{{ not }}", "Jinja keyword"),
            ("{{ x | upper }}", "{{ x | upper }}", "no filters"),
            ("{{ a . b }}", "{{ a . b }}", "inner whitespace"),
            ("{{ a b }}", "{{ a b }}", "inner whitespace"),
            ("{{ 'x' }}", "{{ 'x' }}", "not a name"),
            ("{{ 1a }}", "{{ 1a }}", "not a name"),
            ("{{ a[0] }}", "{{ a[0] }}", "not a name"),
            ("{{- x }}", "{{- x }}", "whitespace control"),
            ("{{ x -}}", "{{ x -}}", "whitespace control"),
            ("{{+x+}}", "{{+x+}}", "whitespace control"),
            ("{{ x - y }}", "{{ x - y }}", "not a name"),
            ("{{ -x }}", "{{ -x }}", "not a name"),
            ("{{{ x }}}", "{{{ x }}", "not a name"),
            ("{{ é }}", "{{ é }}", "not a name"),
        ];
        for (input, variable, message) in cases {
            let e = render_err(input);
            assert_eq!(e.variable, variable, "for {input:?}");
            assert!(e.message.contains(message), "for {input:?}: {e}");
            assert!(
                e.message.starts_with("syntax error: "),
                "for {input:?}: {e}"
            );
            assert_eq!(validate_syntax(&json!(input)), Err(e), "for {input:?}");
            assert!(has_placeholders(input));
        }
    }

    #[test]
    fn keywords_are_fine_after_the_first_segment() {
        let vars = json!({"a": {"true": 1, "none": 2, "if": 3}});
        assert_eq!(render_str("{{ a.true }}", &vars), Ok(json!(1)));
        assert_eq!(render_str("{{ a.none }}", &vars), Ok(json!(2)));
        assert_eq!(render_str("{{ a.if }}", &vars), Ok(json!(3)));
        assert_eq!(
            render_str("{{ truthy }}", &json!({"truthy": 4})),
            Ok(json!(4))
        );
    }

    #[test]
    fn long_raw_text_is_truncated_in_errors() {
        let long = format!("{{{{ x {}", "y".repeat(1000));
        let e = render_err(&long);
        assert_eq!(e.variable.chars().count(), MAX_SHOWN_CHARS + 1);
        assert!(e.variable.ends_with('…'));
    }

    #[test]
    fn validate_syntax_accepts_valid_templates() {
        let value = json!({"{{ bad key": "{{ fine }}", "b": ["x{{ a.0.b }}", 1, null]});
        assert_eq!(validate_syntax(&value), Ok(()));
        let e = validate_syntax(&json!({"a": "ok", "b": [1, "{{ a..b }}", "{{ c"]})).unwrap_err();
        assert_eq!(e.variable, "{{ a..b }}");
    }

    #[test]
    fn variables_are_listed_in_order_without_duplicates() {
        let value = json!({
            "{{ key_not_counted }}": "{{ b }} and {{ a.x }}",
            "list": ["{{ a.x }}", {"deep": "{{ c.0 }}{{ b }}"}, 5],
            "bad": "{{ a..b }} {{ d }} {{ unclosed",
        });
        assert_eq!(variables(&value), ["b", "a.x", "c.0", "d"]);
        assert_eq!(variables_in_str("{{x}}{{ x }}{{  y  }}"), ["x", "y"]);
        assert!(variables(&json!(42)).is_empty());
        assert!(variables_in_str("no placeholders").is_empty());
    }

    #[test]
    fn has_placeholders_is_a_cheap_prefilter() {
        assert!(has_placeholders("a {{ b }}"));
        assert!(has_placeholders("{{"));
        assert!(!has_placeholders("{ {"));
        assert!(!has_placeholders(""));
    }

    #[test]
    fn never_panics_on_brace_soup() {
        let alphabet = ["{", "}", "{{", "}}", " ", "x", ".", "0", "é", "-"];
        // Every string of up to four tokens from the alphabet.
        let mut inputs = vec![String::new()];
        for _ in 0..4 {
            let mut longer = Vec::new();
            for prefix in &inputs {
                for token in alphabet {
                    longer.push(format!("{prefix}{token}"));
                }
            }
            inputs.extend(longer);
        }
        let vars = json!({"x": [1, {"y": "z"}]});
        for input in &inputs {
            let _ = render_str(input, &vars);
            let _ = variables_in_str(input);
            let _ = validate_syntax(&json!(input));
        }
    }
}
