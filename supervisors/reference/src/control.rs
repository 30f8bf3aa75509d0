//! The control protocol, both directions.
//!
//! * CLI → supervisor: [`answer`] builds the one `control_response` owed for each
//!   `control_request`; [`Ledger`] makes sure it is written exactly once, never for an id the CLI
//!   did not ask, and not at all for a request the CLI cancelled first.
//! * supervisor → CLI: [`request`] builds `control_request` envelopes; [`Outgoing`] remembers
//!   which ones still await their response.

use std::collections::{HashMap, HashSet};

use serde_json::{Value, json};

use crate::ids::RequestIds;
use crate::policy;

/// What the answer to a `can_use_tool` did to the tool input, for the report.
#[derive(Debug, Clone, PartialEq)]
pub struct Rewrite {
    pub tool_name: Option<String>,
    pub tool_use_id: Option<String>,
}

/// The `control_response` line for a CLI-initiated `control_request`.
///
/// * `can_use_tool` → allow, with `updatedInput` rewritten to keep the tool in the foreground
///   when `force_foreground` (the foreground-only policy) is set;
/// * `can_use_tool` for `AskUserQuestion` → deny with an explanation: nobody is there to answer,
///   and an allow would hand the model empty answers it takes for the user's (FM-51);
/// * `hook_callback` → an error: this supervisor registers no hooks, so every callback id is
///   unknown, and a hook must never fail open (FM-29; `hooks_fail_open` is the bug switch);
/// * `mcp_message` → a JSON-RPC "server not found" error inside a *success* response (this
///   supervisor hosts no SDK MCP servers), echoing the JSON-RPC `id`;
/// * anything else → an error response naming the subtype.
pub fn answer(
    request_id: &str,
    request: &Value,
    force_foreground: bool,
    hooks_fail_open: bool,
) -> (Value, Option<Rewrite>) {
    let subtype = request.get("subtype").and_then(Value::as_str).unwrap_or("");
    match subtype {
        "can_use_tool"
            if request.get("tool_name").and_then(Value::as_str) == Some("AskUserQuestion") =>
        {
            let message = "No one can answer questions in this session: it runs unattended. \
                           Decide on your own and state your assumptions, or stop and say what \
                           you need.";
            (
                success(request_id, json!({"behavior":"deny","message":message})),
                None,
            )
        }
        "can_use_tool" => {
            let input = request.get("input").cloned().unwrap_or_else(|| json!({}));
            let (updated_input, rewritten) = policy::rewrite_tool_input(force_foreground, &input);
            let rewrite = rewritten.then(|| Rewrite {
                tool_name: request
                    .get("tool_name")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                tool_use_id: request
                    .get("tool_use_id")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            });
            (
                success(
                    request_id,
                    json!({"behavior":"allow","updatedInput":updated_input}),
                ),
                rewrite,
            )
        }
        "hook_callback" if hooks_fail_open => (success(request_id, json!({})), None),
        "hook_callback" => {
            let callback_id = request
                .get("callback_id")
                .and_then(Value::as_str)
                .unwrap_or("");
            (
                error(
                    request_id,
                    &format!("No hook callback found for ID: {callback_id}"),
                ),
                None,
            )
        }
        "mcp_message" => {
            let server = request
                .get("server_name")
                .and_then(Value::as_str)
                .unwrap_or("");
            let jsonrpc_id = request
                .pointer("/message/id")
                .cloned()
                .unwrap_or(Value::Null);
            let mcp_response = json!({"jsonrpc":"2.0","id":jsonrpc_id,
                "error":{"code":-32601,"message":format!("Server '{server}' not found")}});
            (
                success(request_id, json!({"mcp_response":mcp_response})),
                None,
            )
        }
        other => (
            error(
                request_id,
                &format!("Unsupported control request subtype: {other}"),
            ),
            None,
        ),
    }
}

pub fn success(request_id: &str, response: Value) -> Value {
    json!({"type":"control_response","response":{"subtype":"success","request_id":request_id,"response":response}})
}

pub fn error(request_id: &str, error: &str) -> Value {
    json!({"type":"control_response","response":{"subtype":"error","request_id":request_id,"error":error}})
}

/// What to do with an incoming `control_request`.
#[derive(Debug, PartialEq, Eq)]
pub enum Decision {
    Answer,
    /// Already answered once: a repeated id gets no second response.
    Duplicate,
    /// The CLI cancelled it before we answered: it must get no response.
    Cancelled,
}

/// Bookkeeping for "every request answered exactly once, cancelled ones never".
#[derive(Debug, Default)]
pub struct Ledger {
    answered: HashSet<String>,
    cancelled: HashSet<String>,
}

impl Ledger {
    /// Record a `control_cancel_request`. Returns `true` if it came in time (the request was not
    /// answered yet); a cancel for an answered request is harmless and changes nothing.
    pub fn cancel(&mut self, request_id: &str) -> bool {
        if self.answered.contains(request_id) {
            return false;
        }
        self.cancelled.insert(request_id.to_string());
        true
    }

    /// Decide about a request; `Answer` also records it as answered.
    pub fn decide(&mut self, request_id: &str) -> Decision {
        if self.cancelled.contains(request_id) {
            Decision::Cancelled
        } else if !self.answered.insert(request_id.to_string()) {
            Decision::Duplicate
        } else {
            Decision::Answer
        }
    }
}

/// A supervisor-initiated `control_request` line.
pub fn request(request_id: &str, body: Value) -> Value {
    json!({"type":"control_request","request_id":request_id,"request":body})
}

/// The supervisor's own requests that still await a `control_response`.
#[derive(Debug, Default)]
pub struct Outgoing {
    ids: RequestIds,
    pending: HashMap<String, String>,
}

/// A `control_response` to one of our requests.
#[derive(Debug, PartialEq)]
pub struct Reply {
    pub request_id: String,
    /// The subtype of the request it answers (`initialize`, `interrupt`, ...).
    pub request_subtype: String,
    /// `Ok(response body)` (`{}` when absent, as 2.1.81 answers `interrupt`) or `Err(error text)`.
    pub outcome: Result<Value, String>,
}

impl Outgoing {
    /// Allocates an id for a new request and remembers it. Returns `(request_id, line)`.
    pub fn start(&mut self, body: Value) -> (String, Value) {
        let id = self.ids.next();
        let subtype = body
            .get("subtype")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        self.pending.insert(id.clone(), subtype);
        let line = request(&id, body);
        (id, line)
    }

    /// Matches a `control_response` line to a pending request. Responses for ids we are not
    /// waiting for (late, duplicated, or echoed by `--replay-user-messages`) return `None`.
    pub fn settle(&mut self, line: &Value) -> Option<Reply> {
        let response = line.get("response")?;
        let request_id = response.get("request_id").and_then(Value::as_str)?;
        let request_subtype = self.pending.remove(request_id)?;
        let outcome = match response.get("subtype").and_then(Value::as_str) {
            Some("success") => Ok(response
                .get("response")
                .cloned()
                .unwrap_or_else(|| json!({}))),
            _ => Err(response
                .get("error")
                .and_then(Value::as_str)
                .unwrap_or("error response without text")
                .to_string()),
        };
        Some(Reply {
            request_id: request_id.to_string(),
            request_subtype,
            outcome,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn can_use_tool_is_allowed_with_the_policy_rewrite() {
        let request = json!({"subtype":"can_use_tool","tool_name":"Bash","tool_use_id":"toolu_1",
            "input":{"command":"sleep 3","run_in_background":true}});
        let (line, rewrite) = answer("ac06", &request, true, false);
        assert_eq!(
            line,
            json!({"type":"control_response","response":{"subtype":"success","request_id":"ac06",
                "response":{"behavior":"allow","updatedInput":{"command":"sleep 3","run_in_background":false}}}})
        );
        assert_eq!(
            rewrite,
            Some(Rewrite {
                tool_name: Some("Bash".into()),
                tool_use_id: Some("toolu_1".into())
            })
        );

        let (line, rewrite) = answer("ac06", &request, false, false);
        assert_eq!(
            line.pointer("/response/response/updatedInput/run_in_background"),
            Some(&json!(true))
        );
        assert_eq!(rewrite, None);
    }

    #[test]
    fn can_use_tool_without_input_allows_an_empty_input() {
        let (line, _) = answer(
            "r",
            &json!({"subtype":"can_use_tool","tool_name":"X"}),
            true,
            false,
        );
        assert_eq!(
            line.pointer("/response/response/updatedInput"),
            Some(&json!({}))
        );
    }

    #[test]
    fn hook_callback_for_an_unregistered_id_gets_an_error() {
        let request = json!({"subtype":"hook_callback","callback_id":"hook_99"});
        let (line, _) = answer("h1", &request, true, false);
        assert_eq!(
            line,
            json!({"type":"control_response","response":{"subtype":"error","request_id":"h1",
                "error":"No hook callback found for ID: hook_99"}})
        );
        let (line, _) = answer("h1", &request, true, true);
        assert_eq!(
            line,
            json!({"type":"control_response","response":{"subtype":"success","request_id":"h1","response":{}}})
        );
    }

    #[test]
    fn ask_user_question_is_denied_with_a_reason() {
        let request = json!({"subtype":"can_use_tool","tool_name":"AskUserQuestion",
            "input":{"questions":[{"question":"Which DB?"}]}});
        let (line, rewrite) = answer("q1", &request, true, false);
        assert_eq!(
            line.pointer("/response/response/behavior"),
            Some(&json!("deny"))
        );
        let message = line
            .pointer("/response/response/message")
            .and_then(Value::as_str);
        assert!(message.is_some_and(|m| m.contains("unattended")), "{line}");
        assert_eq!(rewrite, None);
    }

    #[test]
    fn mcp_message_gets_server_not_found_with_the_same_jsonrpc_id() {
        let request = json!({"subtype":"mcp_message","server_name":"mysdk",
            "message":{"method":"tools/list","jsonrpc":"2.0","id":7}});
        let (line, _) = answer("m1", &request, true, false);
        assert_eq!(
            line,
            json!({"type":"control_response","response":{"subtype":"success","request_id":"m1","response":{
                "mcp_response":{"jsonrpc":"2.0","id":7,"error":{"code":-32601,"message":"Server 'mysdk' not found"}}}}})
        );
        let notification = json!({"subtype":"mcp_message","server_name":"s","message":{"method":"notifications/initialized","jsonrpc":"2.0"}});
        assert_eq!(
            answer("m2", &notification, true, false)
                .0
                .pointer("/response/response/mcp_response/id"),
            Some(&Value::Null)
        );
    }

    #[test]
    fn unknown_subtypes_get_an_error() {
        let (line, _) = answer("x1", &json!({"subtype":"elicitation"}), false, false);
        assert_eq!(
            line,
            json!({"type":"control_response","response":{"subtype":"error","request_id":"x1",
                "error":"Unsupported control request subtype: elicitation"}})
        );
    }

    #[test]
    fn ledger_answers_once_and_honours_cancels() {
        let mut ledger = Ledger::default();
        assert_eq!(ledger.decide("a"), Decision::Answer);
        assert_eq!(ledger.decide("a"), Decision::Duplicate);
        assert!(
            !ledger.cancel("a"),
            "a cancel after the answer changes nothing"
        );
        assert!(ledger.cancel("b"));
        assert_eq!(ledger.decide("b"), Decision::Cancelled);
    }

    #[test]
    fn outgoing_requests_are_settled_by_id() {
        let mut outgoing = Outgoing::default();
        let (id, line) = outgoing.start(json!({"subtype":"initialize","hooks":null}));
        assert!(id.starts_with("req_1_"));
        assert_eq!(
            line,
            json!({"type":"control_request","request_id":id,"request":{"subtype":"initialize","hooks":null}})
        );

        let (interrupt_id, _) = outgoing.start(json!({"subtype":"interrupt"}));
        // 2.1.81 answers interrupt without a `response` field.
        let reply = outgoing.settle(&json!({"type":"control_response","response":{"subtype":"success","request_id":interrupt_id}}));
        assert_eq!(reply.unwrap().outcome, Ok(json!({})));

        let error = json!({"type":"control_response","response":{"subtype":"error","request_id":id,"error":"Already initialized"}});
        let reply = outgoing.settle(&error).unwrap();
        assert_eq!(
            (reply.request_subtype.as_str(), reply.outcome),
            ("initialize", Err("Already initialized".into()))
        );
        assert_eq!(
            outgoing.settle(&error),
            None,
            "a second response for the same id is ignored"
        );
    }
}
