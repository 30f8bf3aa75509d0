//! `--format html`: the conformance matrix as one self-contained page (inline CSS, no network
//! assets). A cell whose run was kept links to that run's sequence diagram
//! (`<run dir>/sequence.html`, written by the suite when it keeps a run); the details of every
//! cell that did not pass follow the matrix.

use std::fmt::Write;
use std::path::Path;

use super::esc;
use super::markdown::symbol;
use crate::show::{HTML_FILE, MERMAID_FILE};
use crate::suite::{Cell, Outcome, SuiteResult};

const CSS: &str = "
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #1f2328; }
table { border-collapse: collapse; }
th, td { border: 1px solid #d0d7de; padding: .3em .6em; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
td.fail { background: #ffebe9; } td.known_failure { background: #fff8c5; }
td.unexpected_pass { background: #ddf4ff; } td.skipped { color: #8c959f; }
code { font-size: 12px; }
.details li { margin: .2em 0; }
";

/// A `file://` URL for a local path.
pub fn file_url(p: &Path) -> String {
    let mut u = String::from("file://");
    for c in p.display().to_string().chars() {
        match c {
            ' ' => u.push_str("%20"),
            '#' => u.push_str("%23"),
            '%' => u.push_str("%25"),
            '?' => u.push_str("%3F"),
            '"' => u.push_str("%22"),
            _ => u.push(c),
        }
    }
    u
}

fn class(o: Outcome) -> &'static str {
    match o {
        Outcome::Pass => "pass",
        Outcome::Fail => "fail",
        Outcome::KnownFailure => "known_failure",
        Outcome::UnexpectedPass => "unexpected_pass",
        Outcome::Skipped => "skipped",
    }
}

fn cell_html(c: &Cell) -> String {
    let mut s = symbol(c.outcome).to_string();
    if matches!(c.outcome, Outcome::Fail | Outcome::KnownFailure) {
        for id in c.violated_ids() {
            let _ = write!(s, " <code>{}</code>", esc(id));
        }
    }
    if let Some(d) = &c.dir {
        let _ = write!(
            s,
            " <a href=\"{}\">diagram</a>",
            esc(&file_url(&d.join(HTML_FILE)))
        );
    }
    s
}

pub fn render(r: &SuiteResult) -> String {
    let mut o =
        String::from("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    let _ = writeln!(
        o,
        "<title>Conformance matrix</title>\n<style>{CSS}</style>\n</head>\n<body>\n<h1>Conformance matrix</h1>"
    );
    let _ = writeln!(o, "<p>{}</p>", esc(&super::text::summary_line(r)));
    o.push_str("<table>\n<tr><th>scenario</th>");
    for s in &r.supervisors {
        let _ = write!(o, "<th>{}</th>", esc(&s.name));
    }
    o.push_str("</tr>\n");
    for scen in &r.scenarios {
        let _ = write!(o, "<tr><td><code>{}</code></td>", esc(scen));
        for s in &r.supervisors {
            match r.cell(&s.name, scen) {
                Some(c) => {
                    let _ = write!(
                        o,
                        "<td class=\"{}\">{}</td>",
                        class(c.outcome),
                        cell_html(c)
                    );
                }
                None => o.push_str("<td></td>"),
            }
        }
        o.push_str("</tr>\n");
    }
    let _ = writeln!(o, "</table>\n<p>{}</p>", super::LEGEND);
    let details = super::details(r);
    if !details.is_empty() {
        o.push_str("<h2>Details</h2>\n");
    }
    for c in details {
        let _ = writeln!(
            o,
            "<h3>{} {} × <code>{}</code></h3>\n<ul class=\"details\">",
            symbol(c.outcome),
            esc(&c.supervisor),
            esc(&c.scenario)
        );
        if let Some(why) = &c.skip_reason {
            let _ = writeln!(o, "<li>skipped: {}</li>", esc(why));
        }
        if let Some(k) = &c.known {
            let _ = writeln!(
                o,
                "<li>known failure: {}{}</li>",
                esc(&k.reason),
                esc(&k.issue_suffix())
            );
        }
        for v in &c.violations {
            let _ = writeln!(
                o,
                "<li><code>{}</code>: {}</li>",
                esc(&v.id),
                esc(&v.message)
            );
        }
        if let Some(d) = &c.dir {
            let _ = writeln!(
                o,
                "<li>run kept: <code>{}</code> — <a href=\"{}\">sequence diagram</a> · <a href=\"{}\">Mermaid</a></li>",
                esc(&d.display().to_string()),
                esc(&file_url(&d.join(HTML_FILE))),
                esc(&file_url(&d.join(MERMAID_FILE)))
            );
        }
        o.push_str("</ul>\n");
    }
    o.push_str("</body>\n</html>\n");
    o
}

#[cfg(test)]
mod tests {
    #[test]
    fn matrix_links_and_details() {
        let text = super::render(&super::super::sample::result());
        for asset in ["<link", "src=", "url(", "@import"] {
            assert!(!text.contains(asset), "loads something: {asset}");
        }
        insta::assert_snapshot!("html_report", text);
    }
}
