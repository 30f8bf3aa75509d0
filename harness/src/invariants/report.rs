//! `report-valid`: the adapter kept its contract (docs/adapters.md): it could be started, it
//! printed only valid report lines, the last one an `end` line, and it was not killed by a signal.
//! This is how a broken adapter gets a verdict instead of crashing the harness. Hitting the run
//! deadline is `no-timeout`'s to report.

use fake_claude::scenario::Loaded;

use super::violation;
use crate::artifacts::{AdapterExit, RunArtifacts};
use crate::verdict::Violation;

const ID: &str = "report-valid";

pub fn report_valid(run: &RunArtifacts, _scenario: &Loaded) -> Vec<Violation> {
    let mut out = Vec::new();
    match &run.adapter_exit {
        AdapterExit::SpawnFailed(why) => {
            out.push(violation(
                ID,
                format!("the adapter could not be started: {why}"),
                vec![],
            ));
        }
        AdapterExit::Signal(sig) => {
            out.push(violation(
                ID,
                format!("the adapter was killed by signal {sig}"),
                vec![],
            ));
        }
        AdapterExit::Code(_) | AdapterExit::Deadline => {}
    }
    for p in &run.report.problems {
        out.push(violation(ID, format!("report: {p}"), vec![]));
    }
    let spawned = !matches!(run.adapter_exit, AdapterExit::SpawnFailed(_));
    let mentioned = run
        .report
        .problems
        .iter()
        .any(|p| p.contains("end line") || p.contains("empty report") || p.contains("`end`"));
    if run.report.end.is_none() && spawned && !mentioned {
        out.push(violation(
            ID,
            "the report has no `end` line".to_string(),
            vec![],
        ));
    }
    if let Some(end) = &run.report.end
        && end.status != "ok"
        && end.status != "error"
    {
        out.push(violation(
            ID,
            format!(
                "the `end` line's status is {:?}, not \"ok\" or \"error\"",
                end.status
            ),
            vec![],
        ));
    }
    for t in &run.report.turns {
        if !crate::report::TURN_STATUSES.contains(&t.status.as_str())
            && !run.report.problems.iter().any(|p| p.contains(&t.status))
        {
            out.push(violation(
                ID,
                format!(
                    "turn {} has status {:?}, not one of {}",
                    t.index,
                    t.status,
                    crate::report::TURN_STATUSES.join(", ")
                ),
                vec![],
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invariants::testkit::*;

    fn scen() -> Loaded {
        scenario("name: t\nscript: []\n")
    }

    #[test]
    fn valid_report_passes() {
        let r = run(vec![], vec![turn(0, "completed", Some("x"))]);
        assert_eq!(report_valid(&r, &scen()), vec![]);
    }

    #[test]
    fn broken_adapters_get_violations() {
        let mut r = run(vec![], vec![turn(0, "done", None)]);
        r.report.end = None;
        r.report.problems = vec!["line 1: not JSON: \"hello\"".into()];
        r.adapter_exit = AdapterExit::Signal(11);
        let v = report_valid(&r, &scen());
        let msgs: Vec<&str> = v.iter().map(|v| v.message.as_str()).collect();
        assert_eq!(v.len(), 4, "{msgs:#?}");
        assert!(msgs[0].contains("signal 11"));
        assert!(msgs[1].contains("not JSON"));
        assert!(msgs[2].contains("no `end` line"));
        assert!(msgs[3].contains("\"done\""));

        let mut r = run(vec![], vec![]);
        r.report.end = None;
        r.adapter_exit = AdapterExit::SpawnFailed("No such file or directory".into());
        assert_eq!(report_valid(&r, &scen()).len(), 1);
    }
}
