//! Self-validation: the suite must pass the clean reference supervisor (every default style and
//! policy) and catch every one of its bug switches (`--bug NAME`) in every driving style the
//! switch can exist in. A switch is *caught* by a scenario when the mutant fails a cell the clean
//! reference passes as the same definition. The switches are read from the reference's own
//! `--help`, so a new switch is picked up without a harness change; which style has which
//! switch is the reference's own `Bug::not_in`.

use std::fmt::Write;

use serde::Serialize;

use crate::setup;
use crate::suite::{self, Case, Cell, Outcome, RunOptions, SuiteResult};
use crate::supervisor::{self, Context, Supervisor};
use reference_supervisor::bugs::Bug;
use reference_supervisor::style::Style;

/// One bug switch of the reference supervisor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Switch {
    pub name: String,
    pub description: String,
}

/// Where a switch was caught: the base supervisor (policy), the scenario, the violated ids.
#[derive(Debug, Clone, Serialize)]
pub struct Catch {
    pub base: String,
    pub scenario: String,
    pub ids: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SwitchResult {
    pub switch: Switch,
    pub caught_by: Vec<Catch>,
    /// Styles the switch exists in (with a base to run) where no scenario caught it.
    pub uncaught_in: Vec<&'static str>,
    /// Styles the switch cannot exist in, each with the reason.
    pub not_in: Vec<(&'static str, &'static str)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MutantsResult {
    /// The clean reference supervisors on every scenario.
    pub clean: SuiteResult,
    /// Each clean definition's name and driving style.
    pub styles: Vec<(String, &'static str)>,
    pub switches: Vec<SwitchResult>,
}

impl MutantsResult {
    pub fn clean_failures(&self) -> Vec<&Cell> {
        self.clean
            .cells
            .iter()
            .filter(|c| !c.outcome.ok())
            .collect()
    }

    /// `switch` (caught in no style) or `switch (style)` for each style that missed it.
    pub fn uncaught(&self) -> Vec<String> {
        self.switches
            .iter()
            .filter(|s| !s.uncaught_in.is_empty())
            .map(|s| {
                if s.caught_by.is_empty() {
                    s.switch.name.clone()
                } else {
                    format!("{} ({})", s.switch.name, s.uncaught_in.join(", "))
                }
            })
            .collect()
    }

    /// 0 when the clean reference passes and every switch is caught, else 1.
    pub fn exit_code(&self) -> i32 {
        if self.clean.cells.iter().any(|c| c.internal_error.is_some()) {
            3
        } else if self.clean_failures().is_empty() && self.uncaught().is_empty() {
            0
        } else {
            1
        }
    }
}

/// The reference under `base` with one switch on: `<base>+<switch>`, no known failures, no
/// setup of its own (the base's setup built the same binary). Its run deadline is at most 15 s
/// (a scenario's turn timeouts can still raise it): the clean reference needs a few seconds at
/// most, and a mutant that hangs is caught just as well sooner.
pub fn with_switch(base: &Supervisor, switch: &str) -> Supervisor {
    let mut s = base.clone();
    s.timeouts.run = s.timeouts.run.min(std::time::Duration::from_secs(15));
    s.name = format!("{}+{switch}", base.name);
    s.command.push("--bug".into());
    s.command.push(switch.into());
    s.known_failures.clear();
    s.setup = None;
    s
}

/// The reference supervisor's switches, with the description its `--help` gives each.
pub fn switches() -> Vec<Switch> {
    let described = parse_help(reference_supervisor::args::HELP);
    reference_supervisor::bugs::Bug::names()
        .into_iter()
        .map(|name| Switch {
            name: name.to_string(),
            description: described
                .iter()
                .find(|s| s.name == name)
                .map(|s| s.description.clone())
                .unwrap_or_default(),
        })
        .collect()
}

/// The lines under `--bug NAME` in the reference's help, each `name   description`, until the
/// next option.
pub fn parse_help(help: &str) -> Vec<Switch> {
    let mut out = Vec::new();
    let mut lines = help
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("--bug"));
    if lines.next().is_none() {
        return out;
    }
    for line in lines {
        let t = line.trim_start();
        if t.is_empty() || t.starts_with('-') {
            break;
        }
        let (name, desc) = t.split_once(char::is_whitespace).unwrap_or((t, ""));
        if name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            out.push(Switch {
                name: name.to_string(),
                description: desc.trim().to_string(),
            });
        }
    }
    out
}

/// The driving style a reference definition runs (its `--style`; `sdk` when absent).
pub fn style_of(base: &Supervisor) -> Style {
    Style::of_args(&base.command).unwrap_or(Style::Sdk)
}

/// Whether `switch` can exist in `base`'s style (the reference refuses it where it cannot).
pub fn applies(switch: &str, base: &Supervisor) -> bool {
    Bug::from_name(switch).is_some_and(|bug| bug.not_in(style_of(base)).is_none())
}

/// Run the clean reference (every default definition) and every switch under each definition
/// whose style it can exist in.
pub fn run(
    ctx: &Context,
    cases: &[Case],
    jobs: usize,
    only: &[String],
    progress: &mut dyn FnMut(usize, usize, &Cell),
) -> Result<MutantsResult, String> {
    let bases = supervisor::defaults(ctx).map_err(|e| e.to_string())?;
    for b in &bases {
        setup::ensure(b, ctx)?;
    }
    let mut switches = switches();
    if !only.is_empty() {
        if let Some(bad) = only
            .iter()
            .find(|o| !switches.iter().any(|s| &s.name == *o))
        {
            let names: Vec<&str> = switches.iter().map(|s| s.name.as_str()).collect();
            return Err(format!(
                "unknown switch `{bad}` (known: {})",
                names.join(", ")
            ));
        }
        switches.retain(|s| only.contains(&s.name));
    }
    let mut all = bases.clone();
    for s in &switches {
        all.extend(
            bases
                .iter()
                .filter(|b| applies(&s.name, b))
                .map(|b| with_switch(b, &s.name)),
        );
    }
    let everything = suite::run_all(ctx, &all, cases, jobs, RunOptions::default(), progress);
    let clean_cells: Vec<Cell> = everything
        .cells
        .iter()
        .filter(|c| bases.iter().any(|b| b.name == c.supervisor))
        .cloned()
        .collect();
    let results = switches
        .into_iter()
        .map(|switch| {
            let caught_by: Vec<Catch> = bases
                .iter()
                .filter(|b| applies(&switch.name, b))
                .flat_map(|b| {
                    let mutant = format!("{}+{}", b.name, switch.name);
                    let everything = &everything;
                    cases.iter().filter_map(move |case| {
                        let clean = everything.cell(&b.name, &case.id)?;
                        let bad = everything.cell(&mutant, &case.id)?;
                        (clean.outcome == Outcome::Pass && bad.outcome == Outcome::Fail).then(
                            || Catch {
                                base: b.name.clone(),
                                scenario: case.id.clone(),
                                ids: bad.violated_ids().iter().map(|s| s.to_string()).collect(),
                            },
                        )
                    })
                })
                .collect();
            let bug = Bug::from_name(&switch.name);
            let mut uncaught_in = Vec::new();
            let mut not_in = Vec::new();
            for style in reference_supervisor::style::ALL {
                if let Some(why) = bug.and_then(|bug| bug.not_in(style)) {
                    not_in.push((style.name(), why));
                    continue;
                }
                let of_style: Vec<&Supervisor> =
                    bases.iter().filter(|b| style_of(b) == style).collect();
                let caught = caught_by
                    .iter()
                    .any(|c| of_style.iter().any(|b| b.name == c.base));
                if !of_style.is_empty() && !caught {
                    uncaught_in.push(style.name());
                }
            }
            SwitchResult {
                switch,
                caught_by,
                uncaught_in,
                not_in,
            }
        })
        .collect();
    Ok(MutantsResult {
        clean: SuiteResult::new(&bases, cases, clean_cells),
        styles: bases
            .iter()
            .map(|b| (b.name.clone(), style_of(b).name()))
            .collect(),
        switches: results,
    })
}

/// The width of the switch-name column of a table (at least that of the `switch` header).
pub fn name_width<'a>(switches: impl Iterator<Item = &'a Switch>) -> usize {
    switches.map(|s| s.name.len()).max().unwrap_or(6).max(6)
}

/// The human-readable table.
pub fn render(r: &MutantsResult) -> String {
    let mut out = String::from("clean reference\n");
    let clean_text = crate::reporters::text::render(&r.clean);
    for line in clean_text.lines() {
        let _ = writeln!(out, "  {line}");
    }
    let width = name_width(r.switches.iter().map(|s| &s.switch));
    let _ = writeln!(out, "\n{:<width$}  caught by", "switch");
    for s in &r.switches {
        if s.caught_by.is_empty() && s.uncaught_in.is_empty() {
            let _ = writeln!(
                out,
                "{:<width$}  not run: no default definition has a style it exists in",
                s.switch.name
            );
            continue;
        }
        if s.caught_by.is_empty() {
            let _ = writeln!(
                out,
                "{:<width$}  UNCAUGHT  ({})",
                s.switch.name, s.switch.description
            );
            continue;
        }
        if !s.uncaught_in.is_empty() {
            let _ = writeln!(
                out,
                "{:<width$}  UNCAUGHT in {}",
                s.switch.name,
                s.uncaught_in.join(", ")
            );
        }
        for (i, c) in s.caught_by.iter().enumerate() {
            let name = if i == 0 { s.switch.name.as_str() } else { "" };
            let ids = if c.ids.is_empty() {
                "(no ids)".to_string()
            } else {
                c.ids.join(", ")
            };
            let _ = writeln!(out, "{name:<width$}  {} × {}: {ids}", c.base, c.scenario);
        }
    }
    let _ = writeln!(out, "\nper style (switches that can exist in it: caught)");
    for style in reference_supervisor::style::ALL {
        let bases: Vec<&str> = r
            .styles
            .iter()
            .filter(|(_, s)| *s == style.name())
            .map(|(name, _)| name.as_str())
            .collect();
        let exists: Vec<&SwitchResult> = r
            .switches
            .iter()
            .filter(|s| !s.not_in.iter().any(|(n, _)| *n == style.name()))
            .collect();
        if bases.is_empty() {
            let _ = writeln!(
                out,
                "  {:<9} {} switch(es), not run (no default definition of this style)",
                style.name(),
                exists.len()
            );
            continue;
        }
        let missed = exists
            .iter()
            .filter(|s| s.uncaught_in.contains(&style.name()))
            .count();
        let _ = writeln!(
            out,
            "  {:<9} {} switch(es), {} caught, under {}",
            style.name(),
            exists.len(),
            exists.len() - missed,
            bases.join(", ")
        );
    }
    let uncaught = r.uncaught();
    let caught = r.switches.len()
        - r.switches
            .iter()
            .filter(|s| !s.uncaught_in.is_empty())
            .count();
    let pct = if r.switches.is_empty() {
        100
    } else {
        caught * 100 / r.switches.len()
    };
    let _ = writeln!(
        out,
        "\n{} switches: {caught} caught, {} uncaught ({pct}% caught){}",
        r.switches.len(),
        uncaught.len(),
        if uncaught.is_empty() {
            String::new()
        } else {
            format!(": {}", uncaught.join(", "))
        }
    );
    let bad = r.clean_failures();
    if bad.is_empty() {
        out.push_str("clean reference: no failures\n");
    } else {
        let names: Vec<String> = bad
            .iter()
            .map(|c| format!("{} × {}", c.supervisor, c.scenario))
            .collect();
        let _ = writeln!(out, "clean reference FAILS: {}", names.join(", "));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn switches_come_from_the_help_text() {
        let help = "\
OPTIONS:
    --policy POLICY   foreground-only | background-aware
    --bug NAME        reintroduce one known bug (repeatable):
                        prompt-before-read      write the prompt first
                        no-group-kill           teardown signals only the CLI
    -h, --help        print this help
";
        let s = parse_help(help);
        assert_eq!(
            s.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
            ["prompt-before-read", "no-group-kill"]
        );
        assert_eq!(s[1].description, "teardown signals only the CLI");
        assert!(parse_help("no options here").is_empty());
    }

    #[test]
    fn every_switch_of_the_reference_has_a_description() {
        let all = switches();
        assert!(all.len() >= 7, "{all:?}");
        assert!(all.iter().all(|s| !s.description.is_empty()), "{all:?}");
    }

    #[test]
    fn a_mutant_is_the_base_plus_one_flag() {
        let ctx = Context {
            root: "/r".into(),
            harness_bin: "/h".into(),
        };
        let base = &supervisor::defaults(&ctx).unwrap()[0];
        let m = with_switch(base, "no-group-kill");
        assert_eq!(m.name, "reference+no-group-kill");
        assert_eq!(
            &m.command[m.command.len() - 2..],
            ["--bug", "no-group-kill"]
        );
        assert!(m.setup.is_none());
    }
}
