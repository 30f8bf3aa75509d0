//! The diagram as one self-contained HTML page: the sequence diagram is an inline SVG laid out
//! here (lifelines, arrows, notes), styled by inline CSS, with a few lines of inline script to
//! show a row's full record when it is clicked. Nothing is loaded from anywhere, so the page
//! works from a CI artifact, offline.
//!
//! Rows that a violation concerns are drawn on a red band with the violated ids beside them; the
//! list of violations at the top links to the first row each one marks. Once the page is laid
//! out, the script records what it drew on `<body>` (`data-rendered`: rows drawn,
//! `data-marked`: marked rows drawn) — what a headless browser test reads back.

use std::fmt::Write as _;

use super::model::{Diagram, Kind, Row};
use crate::reporters::esc;

const COL_W: usize = 440;
const LEFT: usize = 70;
const ROW_H: usize = 26;
const TOP: usize = 56;
const MARKS_W: usize = 380;
const BOX_W: usize = 220;

fn x_of(lifeline: usize) -> usize {
    LEFT + BOX_W / 2 + lifeline * COL_W
}

fn clip(s: &str, chars: usize) -> String {
    if s.chars().count() <= chars {
        s.to_string()
    } else {
        format!(
            "{}…",
            s.chars().take(chars.saturating_sub(1)).collect::<String>()
        )
    }
}

const CSS: &str = "
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #1f2328; }
h1 { font-size: 1.3em; margin: 0 0 .3em; }
.facts { color: #57606a; margin: 0 0 1em; padding-left: 1.2em; }
.violations { background: #fff1f0; border: 1px solid #f5c2c0; border-radius: 6px; padding: .6em 1em .6em 2.2em; }
.violations li { margin: .25em 0; }
.violations code { font-weight: 600; }
.ok { background: #eefbf0; border: 1px solid #b7e4c0; border-radius: 6px; padding: .6em 1em; }
#diagram { overflow-x: auto; margin-top: 1em; }
svg { font: 12px ui-monospace, SFMono-Regular, Menlo, monospace; }
.lifeline { stroke: #8c959f; stroke-dasharray: 4 4; }
.actor rect { fill: #f6f8fa; stroke: #8c959f; rx: 4; }
.actor text { font: 600 13px system-ui, sans-serif; text-anchor: middle; }
.row { cursor: pointer; }
.row line { stroke: #24292f; stroke-width: 1.3; }
.row.side line { stroke: #8c959f; stroke-dasharray: 5 3; }
.row text.label { text-anchor: middle; }
.row.note rect.box { fill: #fff8c5; stroke: #d4a72c; }
.row.note text.label { text-anchor: middle; }
.row text.time { fill: #8c959f; text-anchor: end; }
.row rect.band { fill: transparent; }
.row.marked rect.band { fill: #ffd7d5; }
.row.marked text.mark { fill: #cf222e; font-weight: 600; }
.row:hover rect.band { fill: #eaeef2; }
.row.marked:hover rect.band { fill: #ffc1bd; }
#detail { position: fixed; right: 1em; bottom: 1em; width: 42em; max-height: 45vh; overflow: auto;
  background: #fff; border: 1px solid #8c959f; border-radius: 6px; padding: .5em 1em; display: none;
  box-shadow: 0 4px 16px rgba(0,0,0,.15); white-space: pre-wrap; font: 12px ui-monospace, monospace; }
";

const SCRIPT: &str = "
(function () {
  var details = JSON.parse(document.getElementById('details').textContent);
  var panel = document.getElementById('detail');
  var rows = document.querySelectorAll('svg g.row');
  rows.forEach(function (g) {
    g.addEventListener('click', function () {
      var d = details[+g.getAttribute('data-index')];
      panel.textContent = (g.getAttribute('data-title') || '') + '\\n\\n' + (d || '(no record)');
      panel.style.display = 'block';
    });
  });
  panel.addEventListener('click', function () { panel.style.display = 'none'; });
  var drawn = 0, marked = 0;
  rows.forEach(function (g) {
    var b = g.getBBox();
    if (b.width > 0 && b.height > 0) {
      drawn++;
      if (g.classList.contains('marked')) marked++;
    }
  });
  document.body.setAttribute('data-rendered', String(drawn));
  document.body.setAttribute('data-marked', String(marked));
})();
";

pub fn render(d: &Diagram) -> String {
    let n = d.lifelines.len().max(1);
    let width = x_of(n - 1) + BOX_W / 2 + 30 + MARKS_W;
    let height = TOP + d.rows.len() * ROW_H + 60;
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"{}\">\n<defs><marker \
         id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"8\" \
         markerHeight=\"8\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" \
         fill=\"#24292f\"/></marker></defs>\n",
        esc(&d.title)
    );
    let bottom = height - 40;
    for (i, l) in d.lifelines.iter().enumerate() {
        let x = x_of(i);
        let _ = writeln!(
            svg,
            "<line class=\"lifeline\" x1=\"{x}\" y1=\"40\" x2=\"{x}\" y2=\"{bottom}\"/>"
        );
        for y in [8, bottom] {
            let _ = writeln!(
                svg,
                "<g class=\"actor\"><rect x=\"{}\" y=\"{y}\" width=\"{BOX_W}\" height=\"30\"/>\
                 <text x=\"{x}\" y=\"{}\">{}</text></g>",
                x - BOX_W / 2,
                y + 20,
                esc(&clip(l, 30))
            );
        }
    }
    for (i, row) in d.rows.iter().enumerate() {
        svg.push_str(&row_svg(d, i, row, width));
    }
    svg.push_str("</svg>\n");

    let mut page =
        String::from("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    let _ = writeln!(page, "<title>{}</title>", esc(&d.title));
    let _ = writeln!(page, "<style>{CSS}</style>\n</head>\n<body>");
    let _ = writeln!(page, "<h1>{}</h1>", esc(&d.title));
    page.push_str("<ul class=\"facts\">\n");
    for f in &d.facts {
        let _ = writeln!(page, "<li>{}</li>", esc(f));
    }
    page.push_str("</ul>\n");
    if d.marks.is_empty() && !d.verdict_missing {
        page.push_str("<p class=\"ok\">No violations.</p>\n");
    } else if !d.marks.is_empty() {
        page.push_str("<ol class=\"violations\">\n");
        for (m, mark) in d.marks.iter().enumerate() {
            let first = d.rows.iter().position(|r| r.marks.contains(&m));
            let id = match first {
                Some(r) => format!("<a href=\"#row-{r}\"><code>{}</code></a>", esc(&mark.id)),
                None => format!("<code>{}</code> (no message to point at)", esc(&mark.id)),
            };
            let _ = writeln!(
                page,
                "<li class=\"violation\">{id}: {}</li>",
                esc(&mark.message)
            );
        }
        page.push_str("</ol>\n");
    }
    let _ = writeln!(page, "<div id=\"diagram\">\n{svg}</div>");
    page.push_str("<pre id=\"detail\"></pre>\n");
    let details: Vec<&str> = d.rows.iter().map(|r| r.detail.as_str()).collect();
    let json = serde_json::to_string(&details)
        .unwrap_or_else(|_| "[]".into())
        .replace("</", "<\\/");
    let _ = writeln!(
        page,
        "<script type=\"application/json\" id=\"details\">{json}</script>"
    );
    let _ = writeln!(page, "<script>{SCRIPT}</script>\n</body>\n</html>");
    page
}

fn row_svg(d: &Diagram, i: usize, row: &Row, width: usize) -> String {
    let y = TOP + i * ROW_H;
    let kind = match row.kind {
        Kind::Message => "msg",
        Kind::Side => "side",
        Kind::Note => "note",
    };
    let marked = if row.marks.is_empty() { "" } else { " marked" };
    let ids: Vec<&str> = row.marks.iter().map(|m| d.marks[*m].id.as_str()).collect();
    let mut title = row.label.clone();
    for m in &row.marks {
        let _ = write!(title, "\n✗ {}: {}", d.marks[*m].id, d.marks[*m].message);
    }
    let mut g = format!(
        "<g class=\"row {kind}{marked}\" id=\"row-{i}\" data-index=\"{i}\"{} data-title=\"{}\">\
         <title>{}</title>",
        row.record
            .map(|r| format!(" data-record=\"{r}\""))
            .unwrap_or_default(),
        esc(&title),
        esc(&title)
    );
    let _ = write!(
        g,
        "<rect class=\"band\" x=\"0\" y=\"{}\" width=\"{width}\" height=\"{ROW_H}\"/>",
        y - ROW_H / 2 - 2
    );
    if let Some(t) = row.t {
        let _ = write!(
            g,
            "<text class=\"time\" x=\"{}\" y=\"{}\">{t:.3}s</text>",
            LEFT - 8,
            y + 4
        );
    }
    let (a, b) = (x_of(row.from), x_of(row.to));
    match row.kind {
        Kind::Message | Kind::Side => {
            let span = a.abs_diff(b).max(COL_W / 2);
            let _ = write!(
                g,
                "<line x1=\"{a}\" y1=\"{}\" x2=\"{b}\" y2=\"{}\" marker-end=\"url(#arrow)\"/>\
                 <text class=\"label\" x=\"{}\" y=\"{}\">{}</text>",
                y + 6,
                y + 6,
                a.midpoint(b),
                y,
                esc(&clip(&row.label, span / 7))
            );
        }
        Kind::Note => {
            let (lo, hi) = (a.min(b), a.max(b));
            let w = (hi - lo) + BOX_W + 120;
            let x = lo.midpoint(hi).saturating_sub(w / 2);
            let _ = write!(
                g,
                "<rect class=\"box\" x=\"{x}\" y=\"{}\" width=\"{w}\" height=\"{}\"/>\
                 <text class=\"label\" x=\"{}\" y=\"{}\">{}</text>",
                y - ROW_H / 2 + 1,
                ROW_H - 6,
                lo.midpoint(hi),
                y + 4,
                esc(&clip(&row.label, w * 2 / 15))
            );
        }
    }
    if !ids.is_empty() {
        let x = x_of(d.lifelines.len().max(1) - 1) + BOX_W / 2 + 20;
        let _ = write!(
            g,
            "<text class=\"mark\" x=\"{x}\" y=\"{}\">✗ {}</text>",
            y + 4,
            esc(&clip(&ids.join(", "), MARKS_W / 7))
        );
    }
    g.push_str("</g>\n");
    g
}
