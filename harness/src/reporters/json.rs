//! `--format json`: the suite result as one pretty-printed JSON document (supervisors,
//! scenarios, cells with outcome, violations, known-failure entry, kept run dir; summary).

use crate::suite::SuiteResult;

pub fn render(result: &SuiteResult) -> String {
    let mut s = serde_json::to_string_pretty(result)
        .unwrap_or_else(|e| format!("{{\"error\": \"cannot serialize the result: {e}\"}}"));
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn round_trips_as_json() {
        let text = super::render(&super::super::sample::result());
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["summary"]["failed"], 1);
        assert_eq!(v["cells"][0]["outcome"], "fail");
        assert_eq!(v["cells"][0]["violations"][0]["id"], "control-accounting");
        assert_eq!(v["cells"][3]["known"]["reason"], "off by one");
    }
}
