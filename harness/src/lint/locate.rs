//! Where things are in a YAML file: `path → line:column` for every key and value
//! (`handlers.initialise`, `drive.turns.0.actions.1.kind`, `caught_by.2`), read from the parser's
//! events, so a lint about a map key or a list item points at it exactly — the scenario model
//! keeps spans for steps only.

use std::collections::HashMap;

use serde_saphyr::granit_parser::{Event, Parser};

/// A 1-based line and column.
pub type At = (u64, u64);

#[derive(Debug, Default)]
pub struct Index {
    keys: HashMap<String, At>,
    values: HashMap<String, At>,
}

enum Frame {
    Map { key: Option<String> },
    Seq { next: usize },
}

impl Index {
    /// The index of `text`; what does not parse is simply not indexed.
    pub fn of(text: &str) -> Index {
        let mut idx = Index::default();
        let mut stack: Vec<(String, Frame)> = Vec::new();
        for item in Parser::new_from_str(text) {
            let Ok((event, span)) = item else { break };
            let at = (span.start.line() as u64, span.start.col() as u64 + 1);
            let is_node = matches!(
                event,
                Event::Scalar(..)
                    | Event::MappingStart(..)
                    | Event::SequenceStart(..)
                    | Event::Alias(..)
            );
            if is_node {
                // Where this node sits: a key, a value under a key, or a list item.
                let mut path = None;
                if let Some((prefix, frame)) = stack.last_mut() {
                    match frame {
                        Frame::Map { key: k @ None } => {
                            if let Event::Scalar(v, ..) = &event {
                                idx.keys.insert(join(prefix, v), at);
                                *k = Some(v.to_string());
                                continue;
                            }
                            // A complex key (a mapping or list as key): indexed under `?`.
                            *k = Some("?".into());
                            path = Some(join(prefix, "?"));
                        }
                        Frame::Map { key } => {
                            path = Some(join(prefix, key.take().as_deref().unwrap_or("")));
                        }
                        Frame::Seq { next } => {
                            path = Some(join(prefix, &next.to_string()));
                            *next += 1;
                        }
                    }
                }
                let path = path.unwrap_or_default();
                idx.values.entry(path.clone()).or_insert(at);
                match event {
                    Event::MappingStart(..) => stack.push((path, Frame::Map { key: None })),
                    Event::SequenceStart(..) => stack.push((path, Frame::Seq { next: 0 })),
                    _ => {}
                }
            } else if matches!(event, Event::MappingEnd | Event::SequenceEnd) {
                stack.pop();
            }
        }
        idx
    }

    /// Where the key at `path` is written (`handlers.initialise`).
    pub fn key(&self, path: &str) -> Option<At> {
        self.keys.get(path).copied()
    }

    /// Where the value at `path` starts (`caught_by.0`), else its key.
    pub fn value(&self, path: &str) -> Option<At> {
        self.values.get(path).copied().or_else(|| self.key(path))
    }
}

fn join(prefix: &str, k: &str) -> String {
    if prefix.is_empty() {
        k.to_string()
    } else {
        format!("{prefix}.{k}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_values_and_items_block_and_flow() {
        let text = "name: x\nhandlers:\n  initialise: {delay: 1}\ncaught_by: [a, bb]\ndrive:\n  turns:\n    - prompt: hi\n      actions: [{kind: interupt}]\n";
        let i = Index::of(text);
        assert_eq!(i.key("handlers.initialise"), Some((3, 3)));
        assert_eq!(i.value("caught_by.1"), Some((4, 16)));
        assert_eq!(i.value("drive.turns.0.actions.0.kind"), Some((8, 24)));
        assert_eq!(i.value("name"), Some((1, 7)));
        assert_eq!(i.value("nope"), None);
    }
}
