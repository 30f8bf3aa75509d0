//! The diagram as Mermaid `sequenceDiagram` text: paste it into any Mermaid viewer (GitHub
//! renders it in a ```mermaid block). Rows a violation concerns sit in a red `rect` with a note
//! naming the violated ids; violations that name no record are notes across all lifelines at
//! the end.

use std::fmt::Write as _;

use super::model::{Diagram, Kind};

/// Mermaid reads `;` as a statement end and `#…;` as an entity: write both as entities.
fn esc(s: &str) -> String {
    let one_line = s.replace(['\n', '\r'], " ");
    let mut out = String::with_capacity(one_line.len());
    for c in one_line.chars() {
        match c {
            '#' => out.push_str("#35;"),
            ';' => out.push_str("#59;"),
            _ => out.push(c),
        }
    }
    if out.chars().count() > 140 {
        out = out.chars().take(140).collect::<String>() + "…";
    }
    out
}

fn alias(i: usize) -> String {
    if i == 0 { "S".into() } else { format!("C{i}") }
}

pub fn render(d: &Diagram) -> String {
    let mut o = String::from("sequenceDiagram\n");
    for line in std::iter::once(&d.title).chain(&d.facts) {
        let _ = writeln!(o, "    %% {}", line.replace(['\n', '\r'], " "));
    }
    for (i, l) in d.lifelines.iter().enumerate() {
        let _ = writeln!(o, "    participant {} as {}", alias(i), esc(l));
    }
    let last = alias(d.lifelines.len().saturating_sub(1));
    for row in &d.rows {
        let marked = !row.marks.is_empty();
        if marked {
            o.push_str("    rect rgba(220, 38, 38, 0.15)\n");
        }
        let indent = if marked { "        " } else { "    " };
        let (from, to) = (alias(row.from), alias(row.to));
        let label = esc(&row.label);
        let _ = match row.kind {
            Kind::Message => writeln!(o, "{indent}{from}->>{to}: {label}"),
            Kind::Side => writeln!(o, "{indent}{from}-->>{to}: {label}"),
            Kind::Note if row.from != row.to => {
                writeln!(o, "{indent}Note over {from},{to}: {label}")
            }
            Kind::Note => writeln!(o, "{indent}Note over {from}: {label}"),
        };
        if marked {
            let ids: Vec<String> = row.marks.iter().map(|m| d.marks[*m].id.clone()).collect();
            let side = alias(row.from.max(row.to));
            let _ = writeln!(
                o,
                "{indent}Note right of {side}: ❌ {}",
                esc(&ids.join(", "))
            );
            o.push_str("    end\n");
        }
    }
    let across = if last == "S" {
        "S".to_string()
    } else {
        format!("S,{last}")
    };
    for m in &d.unplaced {
        let mark = &d.marks[*m];
        let _ = writeln!(
            o,
            "    Note over {across}: ❌ {}: {}",
            esc(&mark.id),
            esc(&mark.message)
        );
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_statement_ends_and_entities() {
        assert_eq!(esc("a;b #1\nc"), "a#59;b #35;1 c");
    }
}
