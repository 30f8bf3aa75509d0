//! Every step kind of the scenario language, run through the real binary: what reaches stdout and
//! stderr, and what the transcript records.

mod common;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use base64::Engine as _;
use common::*;
use fake_claude::transcript::Event;
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// emit

#[test]
fn emit_json_is_written_exactly_compact_and_raw_utf8() {
    let f = Fake::new(
        r#"
script:
  - emit: {json: {type: custom, n: 1, nested: {a: "é ✓"}, list: [1, "two", null]}}
"#,
    );
    let r = f.run("");
    assert_eq!(r.code, Some(0), "stderr: {}", r.stderr);
    assert_eq!(
        r.stdout_str(),
        "{\"type\":\"custom\",\"n\":1,\"nested\":{\"a\":\"é ✓\"},\"list\":[1,\"two\",null]}\n"
    );
    let recs = f.transcript();
    let outs = stdout_records(&recs);
    assert_eq!(outs.len(), 1);
    match &outs[0].event {
        Event::Stdout { len, msgs, by, .. } => {
            assert_eq!(*len as usize, r.stdout.len());
            assert_eq!(msgs.as_ref().unwrap()[0]["nested"]["a"], "é ✓");
            assert!(
                by.as_deref().unwrap().contains("scenario.yaml:4:"),
                "{by:?}"
            );
        }
        _ => unreachable!(),
    }
}

#[test]
fn emit_without_newline_or_truncated_writes_raw_bytes() {
    let f = Fake::new(
        r#"
script:
  - emit: {json: {type: cut, text: "héllo"}, truncate_at: 24}
  - emit: {json: {type: open}, newline: false}
"#,
    );
    let r = f.run("");
    assert_eq!(r.code, Some(0), "stderr: {}", r.stderr);
    // Byte 24 falls inside the two-byte é: the cut may split a character.
    let mut want = br#"{"type":"cut","text":"h"#.to_vec();
    want.push(0xc3);
    want.extend(br#"{"type":"open"}"#);
    assert_eq!(r.stdout, want);
    let recs = f.transcript();
    let outs = stdout_records(&recs);
    assert_eq!(outs.len(), 2);
    for (rec, len) in outs.iter().zip([24u64, 15]) {
        match &rec.event {
            Event::Stdout {
                len: l,
                msgs,
                text,
                b64,
                ..
            } => {
                assert_eq!(*l, len);
                // Raw bytes: what a reader makes of them is the judge's to say.
                assert!(msgs.is_none() && (text.is_some() || b64.is_some()));
            }
            _ => unreachable!(),
        }
    }
}

#[test]
fn emit_every_shorthand_kind() {
    let f = Fake::new(
        r#"
script:
  - emit: {init: {}}
  - emit: {assistant: {text: "hello"}}
  - emit: {assistant: {thinking: "hmm"}}
  - emit: {assistant: {tool_use: {name: Bash, input: {command: ls}}}}
  - emit: {tool_result: {content: "out"}}
  - emit: {user_text: "[Request interrupted by user]"}
  - emit: {task_started: {task_id: b1, description: "bg"}}
  - emit: {task_progress: {task_id: b1}}
  - emit: {task_updated: {task_id: b1, status: killed}}
  - emit: {task_notification: {task_id: b1}}
  - emit: {background_tasks_changed: [{task_id: b1}]}
  - emit: {session_state: requires_action}
  - emit: {status: {permission_mode: plan}}
  - emit: {permission_denied: {tool_name: Bash}}
  - emit: {control_request: {request_id: cr1, can_use_tool: {tool_name: Bash, input: {command: ls}}}}
  - emit: {control_request: {hook_callback: {callback_id: hook_0, tool_name: Bash}}}
  - emit: {control_request: {mcp_message: {server_name: srv, message: {jsonrpc: "2.0", id: 0, method: initialize}}}}
  - emit: {control_request: {other: {subtype: elicitation, message: hi}}}
  - emit: {control_response: {request_id: x1, response: {ok: true}}}
  - emit: {control_response: {request_id: x2, error: boom}}
  - emit: {control_cancel_request: {request_id: cr1}}
  - emit: {stream_event: {type: message_stop}}
  - emit: {rate_limit_event: {status: rejected}}
  - emit:
      keep_alive:
  - emit: {api_retry: {attempt: 2}}
  - emit: {compact_boundary: {trigger: manual}}
  - emit: {result: {}}
"#,
    );
    let r = f.run("");
    assert_eq!(r.code, Some(0), "stderr: {}", r.stderr);
    let m = r.msgs();
    type Check = (&'static str, Option<&'static str>, fn(&Value) -> bool);
    let checks: &[Check] = &[
        ("system", Some("init"), |v| {
            v["claude_code_version"] == "2.1.330" && v["session_id"].is_string()
        }),
        ("assistant", None, |v| {
            v["message"]["content"][0] == json!({"type": "text", "text": "hello"})
        }),
        ("assistant", None, |v| {
            v["message"]["content"][0]["thinking"] == "hmm"
                && v["message"]["content"][0]["signature"].is_string()
        }),
        ("assistant", None, |v| {
            let b = &v["message"]["content"][0];
            b["type"] == "tool_use" && b["name"] == "Bash" && b["input"]["command"] == "ls"
        }),
        ("user", None, |v| {
            let b = &v["message"]["content"][0];
            b["type"] == "tool_result"
                && b["content"] == "out"
                && v["tool_use_result"]["stdout"] == "out"
        }),
        ("user", None, |v| {
            v["message"]["content"][0]["text"] == "[Request interrupted by user]"
        }),
        ("system", Some("task_started"), |v| {
            v["task_id"] == "b1" && v["description"] == "bg" && v["task_type"] == "local_bash"
        }),
        ("system", Some("task_progress"), |v| {
            v["task_id"] == "b1" && v["usage"]["total_tokens"].is_number()
        }),
        ("system", Some("task_updated"), |v| {
            v["patch"]["status"] == "killed"
        }),
        ("system", Some("task_notification"), |v| {
            v["status"] == "completed" && v["output_file"].is_string() && v["summary"].is_string()
        }),
        ("system", Some("background_tasks_changed"), |v| {
            v["tasks"][0]["task_id"] == "b1"
        }),
        ("system", Some("session_state_changed"), |v| {
            v["state"] == "requires_action" && v["sdk_host_only"] == true
        }),
        ("system", Some("status"), |v| v["permissionMode"] == "plan"),
        ("system", Some("permission_denied"), |v| {
            v["tool_name"] == "Bash" && v["message"].is_string()
        }),
        ("control_request", None, |v| {
            v["request_id"] == "cr1"
                && v["request"]["subtype"] == "can_use_tool"
                && v["request"]["input"]["command"] == "ls"
        }),
        ("control_request", None, |v| {
            v["request"]["subtype"] == "hook_callback"
                && v["request"]["callback_id"] == "hook_0"
                && v["request_id"].as_str().is_some_and(|s| s.len() == 36)
        }),
        ("control_request", None, |v| {
            v["request"]["subtype"] == "mcp_message"
                && v["request"]["server_name"] == "srv"
                && v["request"]["message"]["method"] == "initialize"
        }),
        ("control_request", None, |v| {
            v["request"] == json!({"subtype": "elicitation", "message": "hi"})
        }),
        ("control_response", None, |v| {
            v["response"]
                == json!({"subtype": "success", "request_id": "x1", "response": {"ok": true}})
        }),
        ("control_response", None, |v| {
            v["response"]["subtype"] == "error" && v["response"]["error"] == "boom"
        }),
        ("control_cancel_request", None, |v| v["request_id"] == "cr1"),
        ("stream_event", None, |v| {
            v["event"]["type"] == "message_stop"
        }),
        ("rate_limit_event", None, |v| {
            v["rate_limit_info"]["status"] == "rejected"
        }),
        ("keep_alive", None, |v| v == &json!({"type": "keep_alive"})),
        ("system", Some("api_retry"), |v| {
            v["attempt"] == 2 && v["error_status"] == 529
        }),
        ("system", Some("compact_boundary"), |v| {
            v["compact_metadata"]["trigger"] == "manual"
        }),
        ("result", None, |v| {
            v["subtype"] == "success" && v["is_error"] == false && v["result"] == "hello"
        }),
    ];
    assert_eq!(m.len(), checks.len(), "one line per emit: {m:#?}");
    for (i, (ty, sub, ok)) in checks.iter().enumerate() {
        assert_eq!(m[i]["type"], *ty, "line {i}: {}", m[i]);
        if let Some(s) = sub {
            assert_eq!(m[i]["subtype"], *s, "line {i}: {}", m[i]);
        }
        assert!(ok(&m[i]), "line {i} lacks its key facts: {}", m[i]);
    }
    // Frames carry the process's one session id.
    let sid = &m[0]["session_id"];
    assert!(
        m.iter()
            .filter(|v| v.get("session_id").is_some())
            .all(|v| &v["session_id"] == sid)
    );
}

#[test]
fn emit_with_deep_merges_and_without_removes() {
    let f = Fake::new(
        r#"
script:
  - emit:
      assistant: {text: "hi"}
      with: {message: {model: "custom-model", extra: 1}, top: true}
      without: [message.usage, session_id, message.content.0.type]
"#,
    );
    let r = f.run("");
    let m = &r.msgs()[0];
    assert_eq!(m["message"]["model"], "custom-model");
    assert_eq!(m["message"]["extra"], 1);
    // Deep merge: untouched siblings survive.
    assert_eq!(m["message"]["id"], "msg_001");
    assert_eq!(m["message"]["role"], "assistant");
    assert_eq!(m["top"], true);
    assert!(m["message"].get("usage").is_none());
    assert!(m.get("session_id").is_none());
    assert_eq!(m["message"]["content"][0], json!({"text": "hi"}));
    assert!(m.get("uuid").is_some());
}

#[test]
fn emit_split_gives_n_parts_that_reassemble_to_one_line() {
    let f = Fake::new(
        r#"
script:
  - emit: {assistant: {text: "split me into several writes, please"}, split: 4}
"#,
    );
    let r = f.run("");
    assert_eq!(r.code, Some(0));
    let msgs = r.msgs();
    assert_eq!(msgs.len(), 1, "exactly one line: {}", r.stdout_str());
    assert_eq!(
        msgs[0]["message"]["content"][0]["text"],
        "split me into several writes, please"
    );
    let recs = f.transcript();
    let parts: Vec<_> = stdout_records(&recs)
        .into_iter()
        .filter_map(|rec| match &rec.event {
            Event::Stdout {
                len, part, msgs, ..
            } => Some((*len, part.unwrap(), msgs.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(parts.len(), 4);
    for (i, (_, part, msgs)) in parts.iter().enumerate() {
        assert_eq!(*part, [i as u32 + 1, 4]);
        // Only the last part completes the message.
        assert_eq!(msgs.is_some(), i == 3);
    }
    let total: u64 = parts.iter().map(|p| p.0).sum();
    assert_eq!(total as usize, r.stdout.len());
    assert!(parts.iter().all(|p| p.0 > 0));
}

#[test]
fn emit_split_at_inside_a_utf8_char_with_pause() {
    // `{"t":"é"}\n`: bytes 0..6 are `{"t":"`, é is bytes 6..8; cut at 7, inside it.
    let f = Fake::new(
        r#"
script:
  - emit: {json: {t: "é"}, split_at: [7], pause: 200ms}
"#,
    );
    let r = f.run("");
    assert_eq!(r.stdout, "{\"t\":\"é\"}\n".as_bytes());
    let recs = f.transcript();
    let parts: Vec<_> = stdout_records(&recs)
        .into_iter()
        .map(|rec| match &rec.event {
            Event::Stdout { len, part, .. } => (*len, *part, rec.t),
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(parts.len(), 2);
    assert_eq!((parts[0].0, parts[0].1), (7, Some([1, 2])));
    assert_eq!((parts[1].0, parts[1].1), (4, Some([2, 2])));
    assert!(
        parts[1].2 - parts[0].2 >= 0.19,
        "pause between parts: {parts:?}"
    );
    // The first part alone is not valid UTF-8.
    assert!(std::str::from_utf8(&r.stdout[..7]).is_err());
}

// ---------------------------------------------------------------------------------------------
// write, raw

#[test]
fn write_puts_several_messages_in_one_stdout_record() {
    let f = Fake::new(
        r#"
script:
  - write:
      messages:
        - {keep_alive: {}}
        - {json: {type: custom, n: 2}}
        - {init: {}}
"#,
    );
    let r = f.run("");
    let m = r.msgs();
    assert_eq!(m.len(), 3);
    assert_eq!(m[0]["type"], "keep_alive");
    assert_eq!(m[1], json!({"type": "custom", "n": 2}));
    assert_eq!(m[2]["subtype"], "init");
    let recs = f.transcript();
    let outs = stdout_records(&recs);
    assert_eq!(outs.len(), 1, "one write");
    match &outs[0].event {
        Event::Stdout {
            len, msgs, part, ..
        } => {
            assert_eq!(*len as usize, r.stdout.len());
            assert_eq!(msgs.as_ref().unwrap().len(), 3);
            assert!(part.is_none());
        }
        _ => unreachable!(),
    }
}

#[test]
fn chunking_cuts_every_message_write_and_leaves_explicit_splits_alone() {
    // Sizes cycle across writes: the first write is cut after 1 and 3 more bytes, and so on.
    let f = Fake::new(
        r#"
chunking: {sizes: [1, 3, 50]}
script:
  - write:
      messages:
        - {json: {t: "é"}}
        - {json: {n: "2222222222222222222222222222222222222222222222222222222"}}
  - emit: {json: {t: "ü"}, split_at: [2]}
  - turn: {reply: "héllo"}
"#,
    );
    let r = f.run(&format!("{}\n", user("hi")));
    assert_eq!(r.code, Some(0));
    let m = r.msgs();
    assert_eq!(m[0], json!({"t": "é"}));
    assert_eq!(m[2], json!({"t": "ü"}));
    assert_eq!(m.last().unwrap()["result"], "héllo");
    let recs = f.transcript();
    let outs: Vec<(u64, Option<[u32; 2]>, usize)> = stdout_records(&recs)
        .into_iter()
        .map(|rec| match &rec.event {
            Event::Stdout {
                len, part, msgs, ..
            } => (*len, *part, msgs.as_ref().map_or(0, Vec::len)),
            _ => unreachable!(),
        })
        .collect();
    // The `write` step (75 bytes): 1, 3, 50, 1, 3 and the rest; both messages come with its
    // last part.
    let lens: Vec<u64> = outs[..6].iter().map(|o| o.0).collect();
    assert_eq!(lens, [1, 3, 50, 1, 3, 17]);
    assert_eq!(outs[0].1, Some([1, 6]));
    assert_eq!((outs[5].1, outs[5].2), (Some([6, 6]), 2));
    // The explicit split wins.
    assert_eq!(outs[6], (2, Some([1, 2]), 0));
    assert_eq!(outs[7].2, 1);
    // Turn frames are cut too; every message comes out whole.
    assert!(outs[8..].iter().all(|o| o.1.is_some()), "{outs:?}");
    let whole: u64 = outs.iter().map(|o| o.0).sum();
    assert_eq!(whole as usize, r.stdout.len());
}

#[test]
fn chunking_needs_a_size() {
    let f = Fake::new("chunking: {sizes: [0]}\nscript: []\n");
    let r = f.run("");
    assert_eq!(r.code, Some(2));
    assert!(r.stderr.contains("chunking.sizes"), "{}", r.stderr);
}

#[test]
fn raw_text_has_no_newline_added() {
    let f = Fake::new(
        r#"
script:
  - raw: {text: "partial {{ profile }}"}
"#,
    );
    let r = f.run("");
    assert_eq!(r.code, Some(0));
    assert_eq!(r.stdout, b"partial 2.1.330");
    let recs = f.transcript();
    let outs = stdout_records(&recs);
    match &outs[0].event {
        Event::Stdout { text, b64, len, .. } => {
            assert_eq!(text.as_deref(), Some("partial 2.1.330"));
            assert!(b64.is_none());
            assert_eq!(*len, 15);
        }
        _ => unreachable!(),
    }
}

#[test]
fn raw_hex_with_invalid_utf8_is_recorded_as_base64() {
    let f = Fake::new(
        r#"
script:
  - raw: {hex: "7b 22 ff 0a", repeat: 2}
"#,
    );
    let r = f.run("");
    assert_eq!(r.code, Some(0));
    let want = [0x7b, 0x22, 0xff, 0x0a, 0x7b, 0x22, 0xff, 0x0a];
    assert_eq!(r.stdout, want);
    let recs = f.transcript();
    match &stdout_records(&recs)[0].event {
        Event::Stdout { text, b64, len, .. } => {
            assert!(text.is_none());
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(b64.as_deref().unwrap())
                .unwrap();
            assert_eq!(bytes, want);
            assert_eq!(*len, 8);
        }
        _ => unreachable!(),
    }
}

// ---------------------------------------------------------------------------------------------
// stderr, burst, huge lines

#[test]
fn stderr_text_and_flood() {
    let f = Fake::new(
        r#"
script:
  - stderr: {text: "boom {{ version }}"}
  - stderr: {flood_bytes: 300000, chunk: 4096}
  - emit: {json: {type: after}}
"#,
    );
    let r = f.run("");
    assert_eq!(r.code, Some(0));
    assert_eq!(r.msgs(), vec![json!({"type": "after"})]);
    assert!(
        r.stderr.starts_with("boom 2.1.330\n"),
        "{}",
        &r.stderr[..80]
    );
    assert_eq!(r.stderr.len(), "boom 2.1.330\n".len() + 300_000);
    assert!(r.stderr.contains("[DEBUG]"));
    let recs = f.transcript();
    let errs: Vec<_> = recs
        .iter()
        .filter_map(|rec| match &rec.event {
            Event::Stderr {
                len, text, flood, ..
            } => Some((*len, text.clone(), *flood)),
            _ => None,
        })
        .collect();
    assert_eq!(
        errs,
        vec![
            (13, Some("boom 2.1.330\n".to_string()), false),
            (300_000, None, true)
        ]
    );
}

#[test]
fn burst_count_and_bytes_are_summarized() {
    let f = Fake::new(
        r#"
script:
  - burst: {count: 50, per_write: 7}
  - burst: {bytes: 100000, message: {keep_alive: {}}}
"#,
    );
    let r = f.run("");
    assert_eq!(r.code, Some(0));
    let m = r.msgs();
    let status: Vec<_> = m.iter().take(50).collect();
    assert!(
        status
            .iter()
            .all(|v| v["type"] == "system" && v["subtype"] == "status")
    );
    let ka = &m[50..];
    let ka_line = "{\"type\":\"keep_alive\"}\n".len();
    assert_eq!(ka.len(), 100_000usize.div_ceil(ka_line));
    assert!(ka.iter().all(|v| v == &json!({"type": "keep_alive"})));
    let recs = f.transcript();
    let bursts: Vec<_> = stdout_records(&recs)
        .into_iter()
        .map(|rec| match &rec.event {
            Event::Stdout {
                burst, len, msgs, ..
            } => (*burst, *len, msgs.is_none()),
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(bursts.len(), 2, "one summary record per burst");
    assert_eq!(bursts[0].0, Some(50));
    assert_eq!(bursts[1].0, Some(ka.len() as u64));
    assert!(bursts[1].1 >= 100_000);
    assert_eq!((bursts[0].1 + bursts[1].1) as usize, r.stdout.len());
    assert!(bursts.iter().all(|b| b.2));
}

#[test]
fn burst_of_one_mebibyte_into_a_draining_reader() {
    let f = Fake::new(
        r#"
script:
  - burst: {bytes: 1048576}
"#,
    );
    let r = f.run("");
    assert_eq!(r.code, Some(0));
    assert!(r.stdout.len() >= 1 << 20);
    let m = r.msgs();
    assert!(
        m.iter()
            .all(|v| v["subtype"] == "status" && v["padding"].is_string())
    );
    let recs = f.transcript();
    match &stdout_records(&recs)[0].event {
        Event::Stdout { burst, len, .. } => {
            assert_eq!(*burst, Some(m.len() as u64));
            assert_eq!(*len as usize, r.stdout.len());
        }
        _ => unreachable!(),
    }
}

#[test]
fn generated_huge_assistant_and_result_lines() {
    let f = Fake::new(
        r#"
script:
  - emit: {assistant: {text_bytes: 3000000}}
  - emit: {result: {text_bytes: 2500000}}
"#,
    );
    let r = f.run("");
    assert_eq!(r.code, Some(0));
    let text = r.stdout_str();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2);
    assert!(lines[0].len() > 3_000_000 && lines[0].len() < 3_002_000);
    let a: Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(
        a["message"]["content"][0]["text"].as_str().unwrap().len(),
        3_000_000
    );
    let res: Value = serde_json::from_str(lines[1]).unwrap();
    assert_eq!(res["type"], "result");
    assert_eq!(res["result"].as_str().unwrap().len(), 2_500_000);
}

// ---------------------------------------------------------------------------------------------
// expect

#[test]
fn expect_matches_captures_and_templates_a_later_emit() {
    let f = Fake::new(
        r#"
script:
  - expect:
      match: {type: user, message: {content: "please [..]"}}
      capture: {said: message.content, sid: session_id}
  - emit: {json: {type: echo, said: "{{ said }}", sid: "{{ sid }}", both: "{{ said }}/{{ sid }}"}}
"#,
    );
    let stdin = lines(&[json!({"type": "keep_alive"}), user("please echo")]);
    let r = f.run(&stdin);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(
        r.msgs(),
        vec![
            json!({"type": "echo", "said": "please echo", "sid": "default", "both": "please echo/default"})
        ]
    );
    let recs = f.transcript();
    let rec = find(
        &recs,
        |e| matches!(e, Event::Step { step, .. } if step == "expect"),
    )
    .unwrap();
    match &rec.event {
        Event::Step {
            outcome, captures, ..
        } => {
            assert_eq!(outcome, "matched");
            assert_eq!(captures.as_ref().unwrap()["said"], "please echo");
        }
        _ => unreachable!(),
    }
}

#[test]
fn expect_timeout_fails_with_97() {
    let f = Fake::new(
        r#"
script:
  - expect: {match: {type: user}, timeout: 300ms}
  - emit: {json: {type: unreachable}}
"#,
    );
    // stdin stays open: only the timeout can end the wait.
    let mut live = f.live();
    let t0 = Instant::now();
    let status = live.wait(RUN_DEADLINE);
    assert!(t0.elapsed() >= Duration::from_millis(290));
    assert_eq!(status.code(), Some(97));
    live.expect_eof(LINE_WAIT);
    let stderr = live.stderr_text();
    assert!(
        stderr.contains("no matching stdin message before the timeout"),
        "{stderr}"
    );
    let recs = f.transcript();
    assert_eq!(steps(&recs, "expect")[0].0, "timed_out");
    assert_eq!(exit_code(&recs), Some(97));
}

#[test]
fn expect_timeout_continue_goes_on() {
    let f = Fake::new(
        r#"
script:
  - expect: {match: {type: user}, timeout: 200ms, on_timeout: continue}
  - emit: {json: {type: went_on}}
"#,
    );
    let mut live = f.live();
    assert_eq!(live.next(), json!({"type": "went_on"}));
    let (status, _) = live.finish();
    assert_eq!(status.code(), Some(0));
    assert_eq!(steps(&f.transcript(), "expect")[0].0, "timed_out");
}

#[test]
fn expect_on_eof_exit_code() {
    let f = Fake::new(
        r#"
script:
  - expect: {match: {type: user}, on_eof: {exit: 7}}
"#,
    );
    let r = f.run(&lines(&[json!({"type": "keep_alive"})]));
    assert_eq!(r.code, Some(7));
    let recs = f.transcript();
    assert_eq!(steps(&recs, "expect")[0].0, "eof");
    assert!(find(&recs, |e| matches!(e, Event::StdinEof)).is_some());
    assert_eq!(exit_code(&recs), Some(7));
}

#[test]
fn expect_strict_mismatch_fails() {
    let f = Fake::new(
        r#"
script:
  - expect: {match: {type: user}, strict: true}
"#,
    );
    let r = f.run(&lines(&[json!({"type": "bogus"}), user("late")]));
    assert_eq!(r.code, Some(97));
    assert!(
        r.stderr.contains("unexpected stdin message"),
        "{}",
        r.stderr
    );
    r.assert_no_panic();
    assert_eq!(steps(&f.transcript(), "expect")[0].0, "mismatched");
}

// ---------------------------------------------------------------------------------------------
// request

#[test]
fn request_can_use_tool_awaits_and_captures_the_response() {
    let f = Fake::new(
        r#"
script:
  - request:
      can_use_tool: {tool_name: Bash, input: {command: "rm -rf /tmp/x"}}
      capture: {behavior: response.response.behavior}
      expect: {response: {subtype: success, response: {behavior: allow}}}
  - emit: {json: {type: decided, behavior: "{{ behavior }}", whole: "{{ response.response.request_id }}"}}
"#,
    );
    let mut live = f.live();
    let req = live.next();
    assert_eq!(req["type"], "control_request");
    assert_eq!(req["request"]["subtype"], "can_use_tool");
    assert_eq!(req["request"]["tool_name"], "Bash");
    assert_eq!(req["request"]["input"]["command"], "rm -rf /tmp/x");
    let rid = req["request_id"].as_str().unwrap().to_string();
    // Unrelated traffic first: the request step keeps waiting for its own id.
    live.send(&json!({"type": "control_response",
        "response": {"subtype": "success", "request_id": "other", "response": {}}}));
    live.send(
        &json!({"type": "control_response", "response": {"subtype": "success",
        "request_id": rid, "response": {"behavior": "allow", "updatedInput": {}}}}),
    );
    assert_eq!(
        live.next(),
        json!({"type": "decided", "behavior": "allow", "whole": rid})
    );
    let (status, _) = live.finish();
    assert_eq!(status.code(), Some(0));
    let recs = f.transcript();
    let rec = find(
        &recs,
        |e| matches!(e, Event::Step { step, .. } if step == "request"),
    )
    .unwrap();
    match &rec.event {
        Event::Step {
            outcome,
            response,
            captures,
            ..
        } => {
            assert_eq!(outcome, "answered");
            assert_eq!(
                response.as_ref().unwrap()["response"]["request_id"],
                rid.as_str()
            );
            assert_eq!(captures.as_ref().unwrap()["behavior"], "allow");
        }
        _ => unreachable!(),
    }
}

#[test]
fn request_response_not_matching_expect_fails() {
    let f = Fake::new(
        r#"
script:
  - request:
      request_id: fixed-1
      can_use_tool: {tool_name: Bash}
      expect: {response: {subtype: success, response: {behavior: allow}}}
"#,
    );
    let mut live = f.live();
    assert_eq!(live.next()["request_id"], "fixed-1");
    live.send(
        &json!({"type": "control_response", "response": {"subtype": "success",
        "request_id": "fixed-1", "response": {"behavior": "deny", "message": "no"}}}),
    );
    let status = live.wait(RUN_DEADLINE);
    assert_eq!(status.code(), Some(97));
    let stderr = live.stderr_text();
    assert!(stderr.contains("did not match"), "{stderr}");
    assert_eq!(steps(&f.transcript(), "request")[0].0, "mismatched");
}

#[test]
fn request_timeout_fails_with_97() {
    let f = Fake::new(
        r#"
script:
  - request: {can_use_tool: {tool_name: Bash}, timeout: 300ms}
"#,
    );
    let mut live = f.live();
    assert_eq!(live.next()["request"]["subtype"], "can_use_tool");
    let status = live.wait(RUN_DEADLINE);
    assert_eq!(status.code(), Some(97));
    let recs = f.transcript();
    assert_eq!(steps(&recs, "request")[0].0, "timed_out");
    assert_eq!(exit_code(&recs), Some(97));
}

#[test]
fn request_on_eof_and_other_request_kinds() {
    let f = Fake::new(
        r#"
script:
  - request: {hook_callback: {callback_id: hook_0, tool_name: Bash}, on_eof: continue}
  - request: {mcp_message: {server_name: srv, message: {jsonrpc: "2.0", id: 1, method: tools/list}}, on_eof: {exit: 4}}
"#,
    );
    let r = f.run("");
    assert_eq!(r.code, Some(4), "{}", r.stderr);
    let m = r.msgs();
    assert_eq!(m.len(), 2);
    assert_eq!(m[0]["request"]["subtype"], "hook_callback");
    assert_eq!(m[0]["request"]["input"]["hook_event_name"], "PreToolUse");
    assert_eq!(m[1]["request"]["subtype"], "mcp_message");
    assert_eq!(m[1]["request"]["message"]["method"], "tools/list");
    let recs = f.transcript();
    let outcomes: Vec<_> = steps(&recs, "request").iter().map(|s| s.0).collect();
    assert_eq!(outcomes, ["eof", "eof"]);
}

// ---------------------------------------------------------------------------------------------
// sleep, wait_eof, hang

#[test]
fn sleep_keeps_answering_control_requests() {
    let f = Fake::new(
        r#"
script:
  - sleep: 1s
  - emit: {json: {type: woke}}
"#,
    );
    let mut live = f.live();
    let t0 = Instant::now();
    live.send(&control("int-1", json!({"subtype": "interrupt"})));
    let first = live.next();
    assert_eq!(
        first["type"], "control_response",
        "answered during the sleep"
    );
    assert_eq!(first["response"]["request_id"], "int-1");
    assert_eq!(live.next(), json!({"type": "woke"}));
    assert!(t0.elapsed() >= Duration::from_millis(950));
    let (status, _) = live.finish();
    assert_eq!(status.code(), Some(0));
}

#[test]
fn wait_eof_waits_for_stdin_to_close() {
    let f = Fake::new(
        r#"
script:
  - emit: {json: {type: before}}
  - wait_eof: {}
  - emit: {json: {type: after}}
"#,
    );
    let mut live = f.live();
    assert_eq!(live.next(), json!({"type": "before"}));
    live.send(&user("ignored"));
    live.send(&control("r1", json!({"subtype": "mcp_status"})));
    // Served while waiting, and nothing else before stdin closes.
    assert_eq!(live.next()["response"]["request_id"], "r1");
    live.close_stdin();
    assert_eq!(live.next(), json!({"type": "after"}));
    assert_eq!(live.wait(RUN_DEADLINE).code(), Some(0));
    let recs = f.transcript();
    assert_eq!(steps(&recs, "wait_eof")[0].0, "eof");
}

#[test]
fn wait_eof_after_eof_returns_at_once() {
    let f = Fake::new(
        r#"
script:
  - wait_eof: {}
  - wait_eof: {timeout: 6s}
  - emit: {json: {type: after}}
"#,
    );
    let t0 = Instant::now();
    let r = f.run("");
    assert_eq!(r.code, Some(0));
    assert_eq!(r.msgs(), vec![json!({"type": "after"})]);
    // Not the 6 s timeout: stdin was closed already.
    assert!(t0.elapsed() < Duration::from_secs(4), "{:?}", t0.elapsed());
    let recs = f.transcript();
    assert_eq!(
        steps(&recs, "wait_eof")
            .iter()
            .map(|s| s.0)
            .collect::<Vec<_>>(),
        ["eof", "eof"]
    );
}

#[test]
fn wait_eof_timeout_fails() {
    let f = Fake::new(
        r#"
script:
  - wait_eof: {timeout: 200ms}
"#,
    );
    let mut live = f.live();
    assert_eq!(live.wait(RUN_DEADLINE).code(), Some(97));
    assert_eq!(steps(&f.transcript(), "wait_eof")[0].0, "timed_out");
}

#[test]
fn hang_for_a_while_then_go_on() {
    let f = Fake::new(
        r#"
script:
  - hang: {for: 300ms}
  - emit: {json: {type: after}}
"#,
    );
    let mut live = f.live();
    let t0 = Instant::now();
    live.send(&user("recorded while hanging"));
    assert_eq!(live.next(), json!({"type": "after"}));
    assert!(t0.elapsed() >= Duration::from_millis(290));
    let (status, _) = live.finish();
    assert_eq!(status.code(), Some(0));
    let recs = f.transcript();
    assert_eq!(steps(&recs, "hang")[0].0, "started");
    assert!(
        find(
            &recs,
            |e| matches!(e, Event::Stdin { msg: Some(m), .. } if m["type"] == "user")
        )
        .is_some()
    );
}

#[test]
fn close_stdin_makes_the_next_write_fail_while_stdout_stays_open() {
    let f = Fake::new(
        r#"
script:
  - expect: {match: {type: user}}
  - close_stdin: {}
  - emit: {json: {type: closed}}
  - expect: {match: {type: user}, on_eof: continue}
  - emit: {json: {type: still-here}}
  - hang: {}
"#,
    );
    let mut live = f.live();
    live.send(&user("before"));
    assert_eq!(live.next(), json!({"type": "closed"}));
    // The read end is gone: the write fails with EPIPE (the test binary ignores SIGPIPE). A
    // pipe with room may take one write before the close is seen, never two.
    let line = format!("{}\n", user("after"));
    let failed = (0..2).find_map(|_| live.try_send_raw(line.as_bytes()).err());
    assert_eq!(
        failed.map(|e| e.kind()),
        Some(std::io::ErrorKind::BrokenPipe)
    );
    assert_eq!(live.next(), json!({"type": "still-here"}));
    assert!(live.child.try_wait().unwrap().is_none(), "the fake runs on");
    signal(live.pid(), Signal::TERM);
    assert_eq!(live.wait(RUN_DEADLINE).code(), Some(143));
    let recs = f.transcript();
    assert_eq!(steps(&recs, "close_stdin")[0].0, "closed");
    assert!(find(&recs, |e| matches!(e, Event::StdinEof)).is_none());
    let prompts = recs
        .iter()
        .filter(|r| matches!(&r.event, Event::Stdin { msg: Some(m), .. } if m["type"] == "user"))
        .count();
    assert_eq!(prompts, 1, "nothing written after the close is read");
}

#[test]
fn close_stdin_mid_line_answers_what_came_first_and_fails_the_long_write() {
    let f = Fake::new(
        r#"
script:
  - close_stdin: {mid_line_over: 65536}
  - emit: {json: {type: closed}}
  - hang: {read_stdin: false}
"#,
    );
    let mut live = f.live();
    // Before the long line: read and answered as usual.
    live.send(&initialize("i1"));
    let answer = live.next();
    assert_eq!(answer["response"]["request_id"], "i1", "{answer}");
    // A 2 MiB line: the fake takes 64 KiB of it and closes, so the write fails however much the
    // pipe holds.
    let long = format!("{}\n", user(&"x".repeat(2 << 20)));
    let failed = live.try_send_raw(long.as_bytes()).err();
    assert_eq!(
        failed.map(|e| e.kind()),
        Some(std::io::ErrorKind::BrokenPipe)
    );
    assert_eq!(live.next(), json!({"type": "closed"}));
    signal(live.pid(), Signal::TERM);
    assert_eq!(live.wait(RUN_DEADLINE).code(), Some(143));
    let recs = f.transcript();
    let close = recs
        .iter()
        .find_map(|r| match &r.event {
            Event::Step { step, detail, .. } if step == "close_stdin" => Some(detail.clone()),
            _ => None,
        })
        .expect("a close_stdin record");
    assert_eq!(
        close.as_deref(),
        Some("mid-line: an unfinished line over 65536 bytes dropped")
    );
    // The cut-off line is not a stdin record: the supervisor never finished writing it.
    let lines: Vec<_> = recs
        .iter()
        .filter(|r| matches!(&r.event, Event::Stdin { .. }))
        .collect();
    assert_eq!(lines.len(), 1, "only initialize was read: {lines:?}");
}

#[test]
fn hang_without_reading_stdin_blocks_the_writer() {
    let f = Fake::new(
        r#"
script:
  - expect: {match: {type: user}}
  - emit: {json: {type: hanging}}
  - hang: {read_stdin: false}
"#,
    );
    let (mut child, mut stdin, mut stdout) = Live::spawn_raw(f.std_cmd());
    let _guard = KillOnDrop(child.id());
    stdin
        .write_all(format!("{}\n", user("go")).as_bytes())
        .unwrap();
    // Wait for the hang to start: the line written just before it.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 256];
        let mut got = Vec::new();
        while !got.ends_with(b"\n") {
            match stdout.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
        let _ = tx.send(got);
        let _ = std::io::copy(&mut stdout, &mut std::io::sink());
    });
    let got = rx.recv_timeout(LINE_WAIT).expect("the hanging line");
    assert_eq!(got, b"{\"type\":\"hanging\"}\n");
    // 1 MiB into a stdin nobody drains: the write cannot complete (pipe 64 KiB + at most one
    // 64 KiB chunk held by the fake's reader thread).
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let r = stdin.write_all(&vec![b'x'; 1 << 20]);
        let _ = done_tx.send(r.map_err(|e| e.kind()));
    });
    assert!(
        done_rx.recv_timeout(Duration::from_millis(1000)).is_err(),
        "a 1 MiB stdin write completed although the fake does not read"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    // Killing the reader unblocks the writer with EPIPE.
    let res = done_rx.recv_timeout(LINE_WAIT).expect("writer unblocked");
    assert_eq!(res, Err(std::io::ErrorKind::BrokenPipe));
    assert_eq!(steps(&f.transcript(), "hang")[0].0, "started");
}

// ---------------------------------------------------------------------------------------------
// exit, kill, spawn

#[test]
fn exit_with_code() {
    let f = Fake::new(
        r#"
script:
  - emit: {json: {type: bye}}
  - exit: 5
  - emit: {json: {type: unreachable}}
"#,
    );
    let r = f.run("");
    assert_eq!(r.code, Some(5));
    assert_eq!(r.msgs(), vec![json!({"type": "bye"})]);
    assert_eq!(exit_code(&f.transcript()), Some(5));
}

#[test]
fn kill_sigterm_dies_by_the_signal_despite_the_sigterm_handler() {
    use std::os::unix::process::ExitStatusExt;
    let f = Fake::new(
        r#"
script:
  - emit: {json: {type: dying}}
  - kill: SIGTERM
"#,
    );
    let r = f.run("");
    assert_eq!(
        r.status.signal(),
        Some(15),
        "status {:?}, stderr {}",
        r.status,
        r.stderr
    );
    assert_eq!(r.msgs(), vec![json!({"type": "dying"})]);
    let recs = f.transcript();
    assert!(
        find(
            &recs,
            |e| matches!(e, Event::Kill { signal } if signal == "SIGTERM")
        )
        .is_some()
    );
    // Not recorded as the SIGTERM handler's exit 143.
    assert!(find(&recs, |e| matches!(e, Event::Exit { code: 143 })).is_none());
    assert!(find(&recs, |e| matches!(e, Event::Signal { .. })).is_none());
}

#[test]
fn kill_sigterm_dies_even_when_the_scenario_ignores_sigterm() {
    use std::os::unix::process::ExitStatusExt;
    let f = Fake::new("on_sigterm: ignore\nscript:\n  - kill: SIGTERM\n");
    let r = f.run("");
    assert_eq!(r.status.signal(), Some(15), "{:?}", r.status);
}

#[test]
fn kill_sigkill_and_sigsegv() {
    use std::os::unix::process::ExitStatusExt;
    for (sig, n) in [("SIGKILL", 9), ("segv", 11)] {
        let f = Fake::new(&format!("script:\n  - kill: {sig}\n"));
        let r = f.run("");
        assert_eq!(r.status.signal(), Some(n), "{sig}: {:?}", r.status);
    }
}

#[test]
fn spawn_grandchild_holds_stdout_open_until_it_dies() {
    let f = Fake::new(
        r#"
script:
  - spawn: {hold_stdout: true, lifetime: 20s}
  - emit: {json: {type: spawned}}
  - exit: 0
"#,
    );
    let mut live = f.live();
    assert_eq!(live.next(), json!({"type": "spawned"}));
    let status = live.wait(RUN_DEADLINE);
    assert_eq!(status.code(), Some(0));
    let recs = f.transcript();
    let pids = spawned_pids(&recs);
    assert_eq!(pids.len(), 1);
    let grandchild = KillOnDrop(pids[0]);
    assert!(alive(grandchild.0), "grandchild alive");
    // The fake is gone, but stdout is not at EOF: the grandchild holds it.
    assert!(
        live.next_within(Duration::from_millis(500)).is_none(),
        "stdout closed although the grandchild holds it"
    );
    signal(grandchild.0, Signal::KILL);
    live.expect_eof(LINE_WAIT);
}

// ---------------------------------------------------------------------------------------------
// if, repeat

const IF_SCENARIO: &str = r#"
script:
  - if: {when: {flag: --add-dir}, then: [{emit: {json: {c: resume}}}], else: [{emit: {json: {c: no_resume}}}]}
  - if: {when: {flag: --model, value: opus}, then: [{emit: {json: {c: model_opus}}}], else: [{emit: {json: {c: model_other}}}]}
  - if: {when: {env: {MY_VAR: "yes"}}, then: [{emit: {json: {c: env_yes}}}]}
  - if: {when: {env: {ANY_VAR: "{...}"}}, then: [{emit: {json: {c: env_any}}}]}
  - if: {when: {profile: "2.1.81"}, then: [{emit: {json: {c: old}}}], else: [{emit: {json: {c: new}}}]}
  - if: {when: {flag: --include-partial-messages, not: true}, then: [{emit: {json: {c: quiet}}}]}
  - set: {mode: fast}
  - if: {when: {var: mode, equals: fast}, then: [{emit: {json: {c: var_fast}}}]}
"#;

fn if_outcome(f: &Fake, args: &[&str], env: &[(&str, &str)]) -> Vec<String> {
    let mut cmd = f.cmd();
    cmd.env_remove("MY_VAR").env_remove("ANY_VAR").args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let r = f.run_with(cmd, b"");
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    r.msgs()
        .iter()
        .map(|m| m["c"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn if_conditions_on_flags_env_profile_var_and_not() {
    let f = Fake::new(IF_SCENARIO);
    assert_eq!(
        if_outcome(&f, &[], &[]),
        ["no_resume", "model_other", "new", "quiet", "var_fast"]
    );
    assert_eq!(
        if_outcome(
            &f,
            &[
                "--add-dir",
                "abc",
                "--model=opus",
                "--include-partial-messages"
            ],
            &[("MY_VAR", "yes"), ("ANY_VAR", "whatever")]
        ),
        [
            "resume",
            "model_opus",
            "env_yes",
            "env_any",
            "new",
            "var_fast"
        ]
    );
    assert_eq!(
        if_outcome(
            &f,
            &[
                "--add-dir=abc",
                "--model",
                "opus",
                "--fake-profile",
                "2.1.81"
            ],
            &[("MY_VAR", "no")]
        ),
        ["resume", "model_opus", "old", "quiet", "var_fast"]
    );
    // A flag with another value, and a flag without value at the end of argv.
    assert_eq!(
        if_outcome(&f, &["--model", "sonnet", "--add-dir"], &[]),
        ["resume", "model_other", "new", "quiet", "var_fast"]
    );
    let recs = f.transcript();
    assert!(steps(&recs, "if").iter().any(|s| s.0 == "then"));
    assert!(steps(&recs, "if").iter().any(|s| s.0 == "else"));
}

#[test]
fn repeat_times_and_break_on_eof() {
    let f = Fake::new(
        r#"
script:
  - repeat:
      times: 3
      steps:
        - emit: {json: {type: tick}}
  - repeat:
      steps:
        - expect: {match: {type: user}, capture: {p: message.content}, on_eof: break}
        - emit: {json: {type: got, p: "{{ p }}"}}
  - emit: {json: {type: done}}
"#,
    );
    let r = f.run(&lines(&[user("a"), user("b")]));
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(
        r.msgs(),
        vec![
            json!({"type": "tick"}),
            json!({"type": "tick"}),
            json!({"type": "tick"}),
            json!({"type": "got", "p": "a"}),
            json!({"type": "got", "p": "b"}),
            json!({"type": "done"}),
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// turn, injected_turn

#[test]
fn turn_reply_template_and_prompt_uuid() {
    let f = Fake::new(
        r#"
script:
  - turn: {reply: "You said: {{ prompt_text }}"}
"#,
    );
    let mut prompt = user("hello there");
    prompt["uuid"] = json!("11111111-2222-3333-4444-555555555555");
    let r = f.run(&lines(&[prompt]));
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let m = r.msgs();
    let kinds: Vec<String> = m
        .iter()
        .map(|v| {
            format!(
                "{}{}",
                v["type"].as_str().unwrap(),
                v.get("state")
                    .or(v.get("subtype"))
                    .map(|s| format!("/{}", s.as_str().unwrap()))
                    .unwrap_or_default()
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "command_lifecycle/queued",
            "command_lifecycle/started",
            "system/init",
            "assistant",
            "result/success",
            "command_lifecycle/completed"
        ]
    );
    let a = &m[3];
    assert_eq!(a["message"]["content"][0]["text"], "You said: hello there");
    let res = &m[4];
    assert_eq!(res["result"], "You said: hello there");
    assert_eq!(
        res["user_message_uuid"],
        "11111111-2222-3333-4444-555555555555"
    );
    assert_eq!(res["is_error"], false);
    assert!(res.get("origin").is_none());
    // No session_state frames unless the supervisor asked for them.
    assert!(of_type(&m, "system", Some("session_state_changed")).is_empty());
}

#[test]
fn turn_on_2_1_81_has_no_lifecycle_frames_or_uuid_echo() {
    let f = Fake::new("profile: \"2.1.81\"\nscript:\n  - turn: {}\n");
    let mut prompt = user("hi");
    prompt["uuid"] = json!("u-81");
    let r = f.run(&lines(&[prompt]));
    assert_eq!(r.code, Some(0));
    let m = r.msgs();
    let types: Vec<_> = m.iter().map(|v| v["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["system", "assistant", "result"]);
    assert!(m.iter().all(|v| v.get("user_message_uuid").is_none()));
    assert_eq!(m[0]["claude_code_version"], "2.1.81");
}

#[test]
fn turn_reads_a_large_prompt_whole() {
    let f = Fake::new("script:\n  - turn: {reply: \"{{ prompt_text }}\"}\n");
    let big = "p".repeat(2 << 20);
    let r = f.run(&lines(&[user(&big)]));
    assert_eq!(r.code, Some(0));
    let res = r.msgs().pop().unwrap();
    assert_eq!(res["type"], "result");
    assert_eq!(res["result"].as_str().unwrap().len(), 2 << 20);
}

#[test]
fn turn_session_state_frames_only_when_asked() {
    let f = Fake::new(
        r#"
script:
  - turn: {}
"#,
    );
    let mut cmd = f.cmd();
    cmd.env("CLAUDE_CODE_SDK_READS_SESSION_STATE", "1");
    let r = f.run_with(cmd, lines(&[user("hi")]).as_bytes());
    let m = r.msgs();
    assert_eq!(m.first().unwrap()["subtype"], "session_state_changed");
    assert_eq!(m.first().unwrap()["state"], "running");
    assert_eq!(m.last().unwrap()["state"], "idle");
    assert_eq!(m.last().unwrap()["sdk_host_only"], true);
    let res = of_type(&m, "result", None);
    assert_eq!(res[0]["result"], "Reply to prompt 1.");
}

#[test]
fn turn_result_override_and_error_exit_code() {
    let f = Fake::new(
        r#"
script:
  - turn:
      result: {subtype: error_during_execution, errors: ["it broke"]}
      result_with: {num_turns: 9}
"#,
    );
    let r = f.run(&lines(&[user("hi")]));
    let m = r.msgs();
    let res = of_type(&m, "result", None)[0];
    assert_eq!(res["subtype"], "error_during_execution");
    assert_eq!(res["is_error"], true);
    assert_eq!(res["errors"], json!(["it broke"]));
    assert_eq!(res["num_turns"], 9);
    assert_eq!(res["terminal_reason"], "aborted_streaming");
    // The last result was an error: exit 1 after EOF.
    assert_eq!(r.code, Some(1));
}

#[test]
fn turn_with_custom_steps() {
    let f = Fake::new(
        r#"
script:
  - turn:
      steps:
        - emit: {assistant: {tool_use: {name: Bash, input: {command: ls}}}}
        - emit: {tool_result: {content: "a b"}}
        - emit: {assistant: {text: "done: {{ prompt_text }}"}}
"#,
    );
    let r = f.run(&lines(&[user("list")]));
    assert_eq!(r.code, Some(0));
    let m = r.msgs();
    let types: Vec<_> = m.iter().map(|v| v["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        ["system", "assistant", "user", "assistant", "result"]
    );
    assert_eq!(m[4]["result"], "done: list");
    assert_eq!(m[4]["num_turns"], 2);
}

#[test]
fn injected_turn_origin_by_profile() {
    for (profile, has_origin) in [("2.1.330", true), ("2.1.81", false)] {
        let f = Fake::new(&format!(
            "profile: \"{profile}\"\nscript:\n  - injected_turn: {{reply: \"bg done\"}}\n"
        ));
        let r = f.run("");
        assert_eq!(r.code, Some(0), "{}", r.stderr);
        let m = r.msgs();
        let types: Vec<_> = m.iter().map(|v| v["type"].as_str().unwrap()).collect();
        assert_eq!(types, ["system", "assistant", "result"], "{profile}");
        assert_eq!(m[0]["claude_code_version"], profile);
        assert_eq!(m[1]["message"]["content"][0]["text"], "bg done");
        assert_eq!(m[2]["result"], "bg done");
        if has_origin {
            assert_eq!(m[2]["origin"]["kind"], "task-notification");
        } else {
            assert!(m[2].get("origin").is_none(), "{profile}: {}", m[2]);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// handlers, set, note

fn default_answers(profile: &str) -> Vec<Value> {
    let f = Fake::new("script: []\n");
    let mut cmd = f.cmd();
    cmd.args(["--fake-profile", profile]);
    let stdin = lines(&[
        initialize("i1"),
        control("c1", json!({"subtype": "interrupt"})),
        control(
            "c2",
            json!({"subtype": "set_permission_mode", "mode": "acceptEdits"}),
        ),
        control("c3", json!({"subtype": "set_model", "model": "claude-x"})),
        control("c4", json!({"subtype": "mcp_status"})),
        control("c5", json!({"subtype": "stop_task", "task_id": "nope"})),
        control("c6", json!({"subtype": "bogus_subtype"})),
        initialize("i2"),
    ]);
    let r = f.run_with(cmd, stdin.as_bytes());
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let recs = f.transcript();
    let answered = recs
        .iter()
        .filter(|r| matches!(&r.event, Event::Control { .. }))
        .count();
    assert_eq!(answered, 8);
    r.msgs()
}

#[test]
fn handlers_default_answers_2_1_330() {
    let m = default_answers("2.1.330");
    let ok = |rid: &str| {
        let r = response_for(&m, rid).unwrap_or_else(|| panic!("no answer to {rid}"));
        r["response"].clone()
    };
    let i1 = ok("i1");
    assert_eq!(i1["subtype"], "success");
    assert_eq!(i1["response"]["claude_code_version"], "2.1.330");
    assert_eq!(i1["pending_permission_requests"], json!([]));
    assert_eq!(ok("c1")["response"], json!({"still_queued": []}));
    assert_eq!(ok("c2")["response"], json!({"mode": "acceptEdits"}));
    let status = of_type(&m, "system", Some("status"));
    assert_eq!(status[0]["permissionMode"], "acceptEdits");
    assert_eq!(ok("c3")["response"], json!({"model": "claude-x"}));
    assert_eq!(ok("c4")["response"], json!({"mcpServers": []}));
    assert_eq!(ok("c5")["response"], json!({}));
    let c6 = ok("c6");
    assert_eq!(c6["subtype"], "error");
    assert_eq!(
        c6["error"],
        "Unsupported control request subtype: bogus_subtype"
    );
    assert_eq!(c6["error_code"], "unsupported_request");
    // A repeated initialize succeeds again, followed by a background_tasks_changed snapshot.
    assert_eq!(ok("i2")["subtype"], "success");
    let last = m.last().unwrap();
    assert_eq!(last["subtype"], "background_tasks_changed");
    assert_eq!(last["tasks"], json!([]));
}

#[test]
fn handlers_default_answers_2_1_81() {
    let m = default_answers("2.1.81");
    let ok = |rid: &str| response_for(&m, rid).unwrap()["response"].clone();
    let i1 = ok("i1");
    assert_eq!(i1["subtype"], "success");
    assert!(i1["response"].get("claude_code_version").is_none());
    assert!(i1.get("pending_permission_requests").is_none());
    // interrupt and set_model: success without a response body.
    assert_eq!(ok("c1"), json!({"subtype": "success", "request_id": "c1"}));
    assert_eq!(ok("c3"), json!({"subtype": "success", "request_id": "c3"}));
    let replay = of_type(&m, "user", None);
    assert_eq!(
        replay[0]["message"]["content"],
        "<local-command-stdout>Set model to claude-x</local-command-stdout>"
    );
    assert_eq!(replay[0]["isReplay"], true);
    assert_eq!(ok("c5")["error"], "No task found with ID: nope");
    let c6 = ok("c6");
    assert_eq!(
        c6["error"],
        "Unsupported control request subtype: bogus_subtype"
    );
    assert!(c6.get("error_code").is_none());
    assert_eq!(ok("i2")["error"], "Already initialized");
}

#[test]
fn handlers_overrides_delay_error_never_respond_script() {
    let f = Fake::new(
        r#"
handlers:
  interrupt: {delay: 400ms}
  set_model: {error: "model switching is off"}
  mcp_status: {never: true}
  set_permission_mode: {respond: {echo: "{{ request.request_id }}", mode: "{{ request.request.mode }}"}}
  stop_task: {script: true}
script:
  - expect:
      match: {type: control_request, request: {subtype: stop_task}}
      capture: {rid: request_id, task: request.task_id}
  - emit: {control_response: {request_id: "{{ rid }}", response: {stopped: "{{ task }}"}}}
  - handlers:
      set_model: {}
  - emit: {json: {type: handlers_replaced}}
"#,
    );
    let mut live = f.live();
    let t0 = Instant::now();
    live.send(&control("int", json!({"subtype": "interrupt"})));
    live.send(&control(
        "model",
        json!({"subtype": "set_model", "model": "m"}),
    ));
    live.send(&control("mcp", json!({"subtype": "mcp_status"})));
    live.send(&control(
        "perm",
        json!({"subtype": "set_permission_mode", "mode": "plan"}),
    ));
    live.send(&control(
        "stop",
        json!({"subtype": "stop_task", "task_id": "b9"}),
    ));
    let mut got = Vec::new();
    let mut int_at = None;
    while int_at.is_none() || !got.iter().any(|v: &Value| v["type"] == "handlers_replaced") {
        let v = live.next();
        if v["response"]["request_id"] == "int" {
            int_at = Some(t0.elapsed());
        }
        got.push(v);
    }
    assert!(
        int_at.unwrap() >= Duration::from_millis(390),
        "delayed: {int_at:?}"
    );
    assert_eq!(
        response_for(&got, "int").unwrap()["response"]["response"],
        json!({"still_queued": []})
    );
    let model = &response_for(&got, "model").unwrap()["response"];
    assert_eq!(model["subtype"], "error");
    assert_eq!(model["error"], "model switching is off");
    assert_eq!(
        response_for(&got, "perm").unwrap()["response"]["response"],
        json!({"echo": "perm", "mode": "plan"})
    );
    assert_eq!(
        response_for(&got, "stop").unwrap()["response"]["response"],
        json!({"stopped": "b9"})
    );
    // The `handlers` step replaced set_model's handler: now the profile default answers.
    live.send(&control(
        "model2",
        json!({"subtype": "set_model", "model": "m2"}),
    ));
    let v = live.next();
    assert_eq!(v["response"]["request_id"], "model2");
    assert_eq!(v["response"]["response"], json!({"model": "m2"}));
    let (status, _) = live.finish();
    assert_eq!(status.code(), Some(0));
    let recs = f.transcript();
    let actions: Vec<(String, String)> = recs
        .iter()
        .filter_map(|r| match &r.event {
            Event::Control {
                request_id, action, ..
            } => Some((request_id.clone(), action.clone())),
            _ => None,
        })
        .collect();
    for want in [
        ("int", "delayed"),
        ("model", "error"),
        ("mcp", "never"),
        ("perm", "answered"),
        ("stop", "to_script"),
    ] {
        assert!(
            actions.contains(&(want.0.to_string(), want.1.to_string())),
            "{want:?} in {actions:?}"
        );
    }
    // `never` means never: no answer to mcp_status was written.
    let all = stdout_records(&recs);
    assert!(
        !all.iter()
            .any(|r| matches!(&r.event, Event::Stdout { msgs: Some(ms), .. }
        if ms.iter().any(|m| m["response"]["request_id"] == "mcp")))
    );
}

#[test]
fn delayed_answers_are_still_written_when_stdin_closes() {
    // Idle after the script, and waiting in a turn (whose EOF ends the run): either way the
    // answer a delayed handler owes is written before the fake exits.
    for script in ["script: []", "script:\n  - turn: {}"] {
        let f = Fake::new(&format!(
            "handlers:\n  interrupt: {{delay: 300ms}}\n{script}\n"
        ));
        let t0 = Instant::now();
        let r = f.run(&lines(&[control("late", json!({"subtype": "interrupt"}))]));
        assert_eq!(r.code, Some(0), "{script}: {}", r.stderr);
        assert!(t0.elapsed() >= Duration::from_millis(290));
        let m = r.msgs();
        assert_eq!(m.len(), 1, "{script}: {m:?}");
        assert_eq!(m[0]["response"]["request_id"], "late", "{script}");
        let recs = f.transcript();
        let eof = recs
            .iter()
            .position(|r| matches!(r.event, Event::StdinEof))
            .unwrap();
        let out = recs
            .iter()
            .position(|r| matches!(r.event, Event::Stdout { .. }))
            .unwrap();
        assert!(out > eof, "{script}: written after stdin closed");
    }
}

#[test]
fn capture_of_an_absent_path_binds_null() {
    let f = Fake::new(
        r#"
script:
  - expect: {match: {type: user}, capture: {u: uuid, text: message.content}}
  - emit: {json: {u: "{{ u }}", text: "{{ text }}"}}
"#,
    );
    let r = f.run(&lines(&[user("no uuid here")]));
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(r.msgs(), vec![json!({"u": null, "text": "no uuid here"})]);
}

#[test]
fn set_and_note() {
    let f = Fake::new(
        r#"
script:
  - set: {greeting: "hi from {{ profile }}", n: 3, obj: {a: [1, 2]}}
  - note: "a note for the reader"
  - emit: {json: {g: "{{ greeting }}", n: "{{ n }}", a1: "{{ obj.a.1 }}"}}
"#,
    );
    let r = f.run("");
    assert_eq!(
        r.msgs(),
        vec![json!({"g": "hi from 2.1.330", "n": 3, "a1": 2})]
    );
    let recs = f.transcript();
    assert!(
        find(
            &recs,
            |e| matches!(e, Event::Note { text } if text == "a note for the reader")
        )
        .is_some()
    );
}

#[test]
fn spawn_grandchild_ignoring_sigterm_outlives_it() {
    let f = Fake::new(
        r#"
script:
  - spawn: {ignore_sigterm: true, lifetime: 20s}
  - exit: 3
"#,
    );
    let mut live = f.live();
    assert_eq!(live.wait(RUN_DEADLINE).code(), Some(3));
    // Without hold_stdout the grandchild does not keep stdout open.
    live.expect_eof(LINE_WAIT);
    let pids = spawned_pids(&f.transcript());
    assert_eq!(pids.len(), 1);
    let grandchild = KillOnDrop(pids[0]);
    // Wait (bounded) until the shell has set up its trap and exec'd `sleep`.
    let deadline = Instant::now() + LINE_WAIT;
    while std::fs::read_to_string(format!("/proc/{}/comm", grandchild.0))
        .map(|c| c.trim() != "sleep")
        .unwrap_or(true)
    {
        assert!(Instant::now() < deadline, "grandchild never became `sleep`");
        std::thread::sleep(Duration::from_millis(10));
    }
    signal(grandchild.0, Signal::TERM);
    std::thread::sleep(Duration::from_millis(300));
    assert!(alive(grandchild.0), "the grandchild ignores SIGTERM");
    signal(grandchild.0, Signal::KILL);
}

#[test]
fn hooks_registered_in_initialize_are_template_variables_and_with_merges_into_the_answer() {
    let f = Fake::new(
        r#"
handlers:
  initialize: {with: {hooks_applied: false}}
script:
  - expect: {match: {type: user}}
  - request:
      request_id: h1
      hook_callback: {callback_id: "{{ hooks.UserPromptSubmit.0 }}", hook_event_name: UserPromptSubmit, prompt: "hi"}
      capture: {decision: response.response.decision}
  - emit: {json: {type: answered, decision: "{{ decision }}", pre: "{{ hooks.PreToolUse }}"}}
"#,
    );
    let mut live = f.live();
    live.send(&control(
        "i1",
        json!({"subtype": "initialize", "hooks": {
            "PreToolUse": [{"matcher": "Bash", "hookCallbackIds": ["hook_0"]},
                           {"matcher": null, "hookCallbackIds": ["hook_1"]}],
            "UserPromptSubmit": [{"matcher": null, "hookCallbackIds": ["hook_2"]}]}}),
    ));
    let init = live.next();
    assert_eq!(init["response"]["request_id"], "i1");
    assert_eq!(init["response"]["response"]["hooks_applied"], false);
    assert!(
        init["response"]["response"]["commands"].is_array(),
        "the default answer is kept"
    );
    live.send(&user("hi"));
    let request = live.next();
    assert_eq!(
        request["request"],
        json!({"subtype": "hook_callback", "callback_id": "hook_2", "input": {
            "session_id": request["request"]["input"]["session_id"],
            "transcript_path": request["request"]["input"]["transcript_path"],
            "cwd": request["request"]["input"]["cwd"],
            "permission_mode": "default",
            "hook_event_name": "UserPromptSubmit", "prompt": "hi"}}),
        "a prompt-level hook carries no tool_use_id"
    );
    live.send(
        &json!({"type": "control_response", "response": {"subtype": "success",
        "request_id": "h1", "response": {"decision": "block", "reason": "policy"}}}),
    );
    assert_eq!(
        live.next(),
        json!({"type": "answered", "decision": "block", "pre": ["hook_0", "hook_1"]})
    );
    live.close_stdin();
    assert_eq!(live.wait(RUN_DEADLINE).code(), Some(0));
}

#[test]
fn turn_after_messages_share_the_results_write() {
    let f =
        Fake::new("script:\n  - turn: {reply: one, after: [{init: {}}, {json: {type: next}}]}\n");
    let r = f.run(&lines(&[user("q")]));
    assert_eq!(r.code, Some(0), "stderr: {}", r.stderr);
    let recs = f.transcript();
    let last_write = stdout_records(&recs)
        .into_iter()
        .rev()
        .find_map(|r| match &r.event {
            Event::Stdout { msgs: Some(m), .. } => Some(m.clone()),
            _ => None,
        })
        .expect("a stdout write");
    let kinds: Vec<&str> = last_write
        .iter()
        .map(|m| {
            m["subtype"]
                .as_str()
                .unwrap_or(m["type"].as_str().unwrap_or(""))
        })
        .collect();
    assert_eq!(kinds, ["success", "init", "next"]);
}
