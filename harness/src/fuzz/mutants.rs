//! `harness fuzz --mutants`: the generated cases against every bug switch of the reference
//! supervisor, through the machinery `harness mutants` uses ([`crate::mutants::switches`],
//! [`crate::mutants::with_switch`]). A switch is *found* when a generated case fails a property
//! on the mutant that the clean reference (same definition) passes on the same case. Each switch
//! is tried under each default definition whose driving style it can exist in, in order.

use std::fmt::Write as _;

use crate::mutants::{Switch, applies, name_width, switches, with_switch};
use crate::supervisor::{self, Context};

use super::strategies::Mix;
use super::{FuzzResult, Options};

/// Cases per switch and base when neither `--cases` nor `PROPTEST_CASES` says otherwise: most
/// switches are found within a few dozen cases, the rarest fault classes within ~150.
pub const DEFAULT_CASES: u32 = 300;

/// Switches generated conversations cannot find, each with the reason. Printed by `--mutants`,
/// never passed silently. (Empty: the generator reaches every switch.)
pub const EXEMPT: &[(&str, &str)] = &[];

#[derive(Debug, Clone)]
pub struct SwitchFinding {
    pub switch: Switch,
    /// The base supervisor it was found under, and the properties that found it.
    pub found: Option<(String, Vec<&'static str>)>,
    /// Cases generated for this switch, over every base tried.
    pub cases: u64,
    pub exempt: Option<&'static str>,
}

#[derive(Debug, Clone)]
pub struct MutantsFuzz {
    pub clean: Vec<FuzzResult>,
    pub switches: Vec<SwitchFinding>,
}

impl MutantsFuzz {
    pub fn unfound(&self) -> Vec<&str> {
        self.switches
            .iter()
            .filter(|s| s.found.is_none() && s.exempt.is_none())
            .map(|s| s.switch.name.as_str())
            .collect()
    }

    /// 0: the clean reference holds every property and every switch not exempt is found.
    pub fn exit_code(&self) -> i32 {
        if self.clean.iter().any(|c| c.internal.is_some()) {
            3
        } else if self.clean.iter().all(|c| c.finding.is_none()) && self.unfound().is_empty() {
            0
        } else {
            1
        }
    }
}

/// Run the clean references, then each switch (all, or `only`) with `opts.cases` cases per base.
pub fn run(
    ctx: &Context,
    opts: &Options,
    only: &[String],
    progress: &mut dyn FnMut(&str),
) -> Result<MutantsFuzz, String> {
    let bases = supervisor::defaults(ctx).map_err(|e| e.to_string())?;
    let mut all = switches();
    if let Some(bad) = only.iter().find(|o| !all.iter().any(|s| &s.name == *o)) {
        return Err(format!("unknown switch `{bad}`"));
    }
    if !only.is_empty() {
        all.retain(|s| only.contains(&s.name));
    }
    let opts = Options {
        mix: Mix::Full,
        ..opts.clone()
    };
    let mut clean = Vec::new();
    for b in &bases {
        let r = super::run(ctx, b, &opts)?;
        progress(&format!(
            "clean {}: {}",
            b.name,
            if r.finding.is_some() {
                "FAILS"
            } else {
                "holds"
            }
        ));
        clean.push(r);
    }
    let mut out = Vec::new();
    for switch in all {
        let exempt = EXEMPT
            .iter()
            .find(|(n, _)| *n == switch.name)
            .map(|(_, why)| *why);
        let mut found = None;
        let mut cases = 0;
        if exempt.is_none() {
            // Only where the switch can exist (the reference refuses it in other styles).
            for b in bases.iter().filter(|b| applies(&switch.name, b)) {
                let mutant = with_switch(b, &switch.name);
                let o = Options {
                    shrink: false,
                    all_properties: true,
                    regressions: None,
                    persistence: None,
                    confirm: Some(b.clone()),
                    ..opts.clone()
                };
                let r = super::run(ctx, &mutant, &o)?;
                cases += r.cases;
                if let Some(f) = r.finding {
                    found = Some((b.name.clone(), f.properties()));
                    break;
                }
            }
        }
        progress(&format!(
            "{}: {}",
            switch.name,
            match &found {
                Some((b, p)) => format!("found under {b} by {}", p.join(", ")),
                None if exempt.is_some() => "exempt".into(),
                None => "NOT FOUND".into(),
            }
        ));
        out.push(SwitchFinding {
            switch,
            found,
            cases,
            exempt,
        });
    }
    Ok(MutantsFuzz {
        clean,
        switches: out,
    })
}

pub fn render(r: &MutantsFuzz) -> String {
    let mut out = String::new();
    for c in &r.clean {
        let _ = writeln!(
            out,
            "clean {}: {} case(s), {}",
            c.supervisor,
            c.cases,
            if c.finding.is_some() {
                "a property FAILS"
            } else {
                "every property held"
            }
        );
        if c.finding.is_some() || c.internal.is_some() {
            for line in super::render(c).lines() {
                let _ = writeln!(out, "  {line}");
            }
        }
    }
    let width = name_width(r.switches.iter().map(|s| &s.switch));
    let _ = writeln!(out, "\n{:<width$}  found by", "switch");
    for s in &r.switches {
        let what = match (&s.found, s.exempt) {
            (Some((base, props)), _) => {
                format!("{} (under {base}, {} case(s))", props.join(", "), s.cases)
            }
            (None, Some(why)) => format!("exempt: {why}"),
            (None, None) => format!(
                "NOT FOUND in {} case(s)  ({})",
                s.cases, s.switch.description
            ),
        };
        let _ = writeln!(out, "{:<width$}  {what}", s.switch.name);
    }
    let unfound = r.unfound();
    let found = r.switches.iter().filter(|s| s.found.is_some()).count();
    let _ = writeln!(
        out,
        "\n{} switches: {found} found, {} exempt, {} not found{}",
        r.switches.len(),
        r.switches.iter().filter(|s| s.exempt.is_some()).count(),
        unfound.len(),
        if unfound.is_empty() {
            String::new()
        } else {
            format!(": {}", unfound.join(", "))
        }
    );
    if !EXEMPT.is_empty() {
        out.push_str("exemptions (switches generated conversations cannot reach):\n");
        for (n, why) in EXEMPT {
            let _ = writeln!(out, "  {n}: {why}");
        }
    }
    out
}
