//! Answers to the probes supervisors run before a session — `auth status [--json]`, `mcp list`,
//! `--help` — as the real CLI 2.1.332 prints them. They never play the scenario: a supervisor
//! that checks authentication first (the ACP agent) must get an answer, not a conversation.

use serde_json::{Map, Value, json};

use crate::invocation::Invocation;
use crate::mode::Subcommand;

/// The real `claude --help` of 2.1.332, verbatim.
const HELP: &str = include_str!("probes/help-2.1.332.txt");

/// What a probe prints and its exit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub stdout: String,
    pub code: i32,
}

/// Whether `auth status` says logged in: the well-mannered default, unless the scenario (or
/// `FAKE_CLAUDE_AUTH=logged_out`) makes the CLI unauthenticated.
pub fn answer(sub: Subcommand, inv: &Invocation, logged_in: bool) -> Answer {
    match sub {
        Subcommand::Help => Answer {
            stdout: HELP.to_string(),
            code: 0,
        },
        Subcommand::McpList => Answer {
            stdout: "No MCP servers configured. Use `claude mcp add` to add a server.\n".into(),
            code: 0,
        },
        Subcommand::AuthStatus => {
            // `auth status` and `auth status --json` print the same pretty JSON (2.1.332).
            let mut text =
                serde_json::to_string_pretty(&auth_status(inv, logged_in)).unwrap_or_default();
            text.push('\n');
            Answer {
                stdout: text,
                code: if logged_in { 0 } else { 1 },
            }
        }
    }
}

/// The object `auth status` prints, with the real key order: logged in with an API key (the
/// key's source is the variable that holds it), or logged out (`authMethod: none`, no source).
fn auth_status(inv: &Invocation, logged_in: bool) -> Value {
    let config = inv
        .env
        .get("CLAUDE_CONFIG_DIR")
        .filter(|d| !d.is_empty())
        .cloned()
        .unwrap_or_else(|| {
            let home = inv.env.get("HOME").cloned().unwrap_or_default();
            format!("{home}/.claude")
        });
    let mut m = Map::new();
    m.insert("loggedIn".into(), json!(logged_in));
    m.insert(
        "authMethod".into(),
        json!(if logged_in { "api_key" } else { "none" }),
    );
    m.insert("apiProvider".into(), json!("firstParty"));
    m.insert("analyticsDisabled".into(), json!(true));
    m.insert(
        "projectsDirectory".into(),
        json!(format!("{config}/projects")),
    );
    m.insert("configDirectory".into(), json!(config));
    m.insert("loginExpiresAt".into(), Value::Null);
    m.insert("consoleProfileSignInOffered".into(), json!(true));
    if logged_in {
        m.insert("apiKeySource".into(), json!("ANTHROPIC_API_KEY"));
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inv(env: &[(&str, &str)]) -> Invocation {
        Invocation::parse(
            vec!["auth".into(), "status".into()],
            env.iter().map(|(k, v)| (k.to_string(), v.to_string())),
        )
    }

    #[test]
    fn auth_status_has_the_real_keys_in_order() {
        let a = answer(Subcommand::AuthStatus, &inv(&[("HOME", "/h")]), true);
        assert_eq!(a.code, 0);
        let v: Value = serde_json::from_str(&a.stdout).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "loggedIn",
                "authMethod",
                "apiProvider",
                "analyticsDisabled",
                "projectsDirectory",
                "configDirectory",
                "loginExpiresAt",
                "consoleProfileSignInOffered",
                "apiKeySource"
            ]
        );
        assert_eq!(v["configDirectory"], "/h/.claude");
        assert!(a.stdout.starts_with("{\n  \"loggedIn\": true,"));
        let out = answer(Subcommand::AuthStatus, &inv(&[("HOME", "/h")]), false);
        assert_eq!(out.code, 1);
        assert!(out.stdout.contains("\"authMethod\": \"none\""));
        assert!(!out.stdout.contains("apiKeySource"));
    }

    #[test]
    fn help_is_the_real_usage() {
        let a = answer(Subcommand::Help, &inv(&[]), true);
        assert!(
            a.stdout
                .starts_with("Usage: claude [options] [command] [prompt]")
        );
    }
}
