//! The session this invocation runs in (see [`crate::sessions`]): a new one, one an earlier
//! invocation wrote (`--resume`, `--continue`), a fork of it — or the real CLI's refusal.

use serde_json::{Value, json};

use super::{Engine, Stop};
use crate::mode::OutputFormat;
use crate::sessions::{Refused, Start, Store};
use crate::transcript::Event;

impl Engine {
    /// Settle the session id before the script runs; sets `resumed` (bool) and
    /// `resumed_results` (results the earlier invocations wrote) for scripts to branch on.
    pub(super) fn begin_session(&mut self) -> Result<(), Stop> {
        let store = Store::for_invocation(&self.inv);
        let start = store.start(&self.inv, &self.session.cwd);
        let (resumed, earlier) = match start {
            Err(refused) => return self.refuse_session(refused),
            Ok(Start::New(Some(id))) => {
                self.session.session_id = id;
                (false, 0)
            }
            Ok(Start::New(None)) => {
                // Generated ids repeat for the same seed: a new session must not take over one
                // an earlier invocation stored.
                while store.exists(&self.session.session_id) {
                    self.session.session_id = self.session.uuid();
                }
                (false, 0)
            }
            Ok(Start::Resumed { from, forked }) => {
                if !forked {
                    self.session.session_id = from.session_id.clone();
                } else {
                    while store.exists(&self.session.session_id) {
                        self.session.session_id = self.session.uuid();
                    }
                }
                (true, from.results)
            }
        };
        self.vars.insert("resumed".into(), json!(resumed));
        self.vars.insert("resumed_results".into(), json!(earlier));
        self.results_before = earlier;
        self.store = Some(store);
        Ok(())
    }

    /// After each result: the store learns the session has one more.
    pub(super) fn save_session(&mut self) {
        self.results_written += 1;
        if let Some(store) = &self.store {
            store.save(
                &self.session.session_id,
                &self.session.cwd,
                self.results_before + self.results_written,
            );
        }
    }

    /// The real CLI's refusal: its stderr line and exit 1; an unknown `--resume` id in
    /// stream-json output also gets an `error_during_execution` result (2.1.330, 2.1.332).
    fn refuse_session(&mut self, r: Refused) -> Result<(), Stop> {
        let _ = self.err.write(r.stderr.as_bytes());
        self.tr.record(Event::Stderr {
            len: r.stderr.len() as u64,
            text: Some(r.stderr.clone()),
            flood: false,
            blocked_us: 0,
        });
        if r.error_result && self.framing.output == OutputFormat::StreamJson {
            let msg = early_error_result(&r.session_id, r.stderr.trim_end(), self.session.uuid());
            self.write_msgs(vec![msg], Some("session".into()))?;
        }
        Err(Stop::Exit(1))
    }
}

/// The result the real CLI writes when the session cannot start (2.1.332 shape and key order).
fn early_error_result(session_id: &str, error: &str, uuid: String) -> Value {
    json!({
        "type": "result", "subtype": "error_during_execution", "duration_ms": 0,
        "duration_api_ms": 0, "is_error": true, "num_turns": 0, "stop_reason": null,
        "session_id": session_id, "total_cost_usd": 0,
        "usage": {"output_tokens_details": {"thinking_tokens": 0}, "input_tokens": 0,
            "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "output_tokens": 0,
            "server_tool_use": {"web_search_requests": 0, "web_fetch_requests": 0},
            "service_tier": "standard",
            "cache_creation": {"ephemeral_1h_input_tokens": 0, "ephemeral_5m_input_tokens": 0},
            "inference_geo": "", "iterations": [], "speed": "standard", "fallback_credit": null},
        "modelUsage": {}, "permission_denials": [], "uuid": uuid, "errors": [error],
        "result_index": 0
    })
}
