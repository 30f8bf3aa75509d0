//! Supervisor definitions: `supervisors/<name>/supervisor.yaml` says how to start a supervisor
//! (its adapter), how it finds the CLI, what it claims to support, its timeouts, an optional
//! cached setup step and its known failures. Two definitions are embedded in the binary
//! (`reference`, `reference-background`) so `harness suite` needs no files to name.
//!
//! Placeholders in `command`, `env`, `cwd` and the setup step: `{harness}` (this harness
//! binary), `{cli}` (the run's `claude` wrapper), `{plan}` (the drive plan), `{dir}` (the
//! definition's directory), `{root}` (the repository root), `{run_dir}` (the run's temp dir),
//! `{cache}` (the supervisor's setup cache, `target/harness-setup/<name>/`) and `{version}`.
//! Anything else in braces is left alone, so JSON in a shell command survives.
//!
//! Versioned supervisors: a definition with `versions: [0.1.50, 0.2.187]` is run as
//! `name@version` (`python-sdk@0.1.50`); any other version works the same way
//! (`python-sdk@0.2.150`), the setup step installing it into its own cache. Plain `name` means
//! the last pinned version. Known failures come from `known-failures@<version>.yaml` when it
//! exists, else `known-failures.yaml`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use fake_claude::scenario::duration::Millis;
pub use fake_claude::scenario::model::Capability;
use serde::{Deserialize, Serialize};

use crate::known_failures::{self, KnownFailure};

/// A definition shipped inside the harness binary.
pub struct Embedded {
    pub name: &'static str,
    /// Where the same file lives in the repository, relative to the root.
    pub path: &'static str,
    pub yaml: &'static str,
    pub known_failures: Option<(&'static str, &'static str)>,
    /// Run when no supervisor is named (`harness suite`, `harness mutants`, the fuzz tests).
    pub default: bool,
}

/// The embedded definitions, in the order `harness suite` runs them: the reference supervisor in
/// each driving style (docs/supervisors.md).
pub const EMBEDDED: &[Embedded] = &[
    Embedded {
        name: "reference",
        path: "supervisors/reference/supervisor.yaml",
        yaml: include_str!("../../supervisors/reference/supervisor.yaml"),
        known_failures: Some((
            "known-failures.yaml",
            include_str!("../../supervisors/reference/known-failures.yaml"),
        )),
        default: true,
    },
    Embedded {
        name: "reference-background",
        path: "supervisors/reference/background.supervisor.yaml",
        yaml: include_str!("../../supervisors/reference/background.supervisor.yaml"),
        known_failures: Some((
            "known-failures-background.yaml",
            include_str!("../../supervisors/reference/known-failures-background.yaml"),
        )),
        default: true,
    },
    Embedded {
        name: "reference-headless",
        path: "supervisors/reference/headless.supervisor.yaml",
        yaml: include_str!("../../supervisors/reference/headless.supervisor.yaml"),
        known_failures: Some((
            "known-failures-headless.yaml",
            include_str!("../../supervisors/reference/known-failures-headless.yaml"),
        )),
        default: true,
    },
    Embedded {
        name: "reference-print",
        path: "supervisors/reference/print.supervisor.yaml",
        yaml: include_str!("../../supervisors/reference/print.supervisor.yaml"),
        known_failures: Some((
            "known-failures-print.yaml",
            include_str!("../../supervisors/reference/known-failures-print.yaml"),
        )),
        default: true,
    },
];

/// Where things are for this harness process: the repository root (scenarios/, supervisors/,
/// target/) and the harness executable (for `{harness}` and the multi-call fake-claude).
#[derive(Debug, Clone)]
pub struct Context {
    pub root: PathBuf,
    pub harness_bin: PathBuf,
}

impl Context {
    /// `HARNESS_ROOT`, else the nearest ancestor of the working directory holding `scenarios/`
    /// or `supervisors/`, else the workspace this harness was built from, else the working dir.
    pub fn discover(harness_bin: PathBuf) -> Context {
        let root = std::env::var_os("HARNESS_ROOT")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| {
                let cwd = std::env::current_dir().ok()?;
                cwd.ancestors()
                    .find(|d| d.join("scenarios").is_dir() || d.join("supervisors").is_dir())
                    .map(Path::to_path_buf)
            })
            .or_else(|| {
                let built = Path::new(env!("CARGO_MANIFEST_DIR")).parent()?;
                built
                    .join("scenarios")
                    .is_dir()
                    .then(|| built.to_path_buf())
            })
            .unwrap_or_else(|| PathBuf::from("."));
        Context { root, harness_bin }
    }

    /// The command that runs fake-claude: `FAKE_CLAUDE_BIN` if set, else this harness binary's
    /// `fake-claude` subcommand.
    pub fn fake_command(&self) -> Vec<String> {
        match std::env::var("FAKE_CLAUDE_BIN") {
            Ok(bin) if !bin.is_empty() => vec![bin],
            _ => vec![
                self.harness_bin.display().to_string(),
                "fake-claude".to_string(),
            ],
        }
    }

    pub fn scenarios_dir(&self) -> PathBuf {
        self.root.join("scenarios")
    }
}

/// How the supervisor finds the CLI. A `claude` wrapper is always first on PATH and
/// `HARNESS_CLI` always names it; these add to that.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CliSpec {
    #[serde(default)]
    pub via: CliVia,
    /// With `via: env`: another variable to set to the wrapper's path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub var: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CliVia {
    /// `HARNESS_CLI` (and `var`, if given).
    #[default]
    Env,
    /// Only the `claude` first on PATH.
    Path,
    /// `{cli}` appears in `command`.
    Flag,
}

/// A setup step run before the first run of a supervisor, and again only when the content of
/// its `cache_key` files changes (e.g. build a binary, create a venv).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Setup {
    pub command: Vec<String>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Files or directories (relative to the definition's directory; placeholders allowed)
    /// whose content decides whether the cached setup is still good.
    #[serde(default)]
    pub cache_key: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TimeoutsFile {
    #[serde(default)]
    run: Option<Millis>,
    #[serde(default)]
    teardown: Option<Millis>,
    #[serde(default)]
    setup: Option<Millis>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Timeouts {
    /// Hard deadline for one run (a scenario may raise it).
    pub run: Duration,
    /// How long after the adapter exits the run's processes may take to disappear.
    pub teardown: Duration,
    /// Deadline for the setup step.
    pub setup: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            run: Duration::from_secs(30),
            teardown: Duration::from_secs(5),
            setup: Duration::from_secs(600),
        }
    }
}

/// The file as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct DefinitionFile {
    name: String,
    #[serde(default)]
    description: String,
    command: Vec<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    #[serde(default)]
    cwd: Option<String>,
    #[serde(default)]
    cli: CliSpec,
    #[serde(default)]
    setup: Option<Setup>,
    #[serde(default)]
    capabilities: Vec<Capability>,
    #[serde(default)]
    policy: Option<String>,
    #[serde(default)]
    timeouts: TimeoutsFile,
    #[serde(default)]
    known_failures: Option<String>,
    /// Pinned versions (`{version}`); the last one is the default.
    #[serde(default)]
    versions: Vec<String>,
    /// Programs the supervisor needs on PATH (`python3`, `node`, `npm`): when one is missing
    /// its cells are skipped with the reason — except in CI, where that is a failure.
    #[serde(default)]
    tools: Vec<String>,
}

/// A loaded supervisor definition.
#[derive(Debug, Clone)]
pub struct Supervisor {
    pub name: String,
    pub description: String,
    pub command: Vec<String>,
    pub env: BTreeMap<String, String>,
    pub cwd: Option<String>,
    pub cli: CliSpec,
    pub setup: Option<Setup>,
    pub capabilities: Vec<Capability>,
    pub policy: Option<String>,
    pub timeouts: Timeouts,
    pub known_failures: Vec<KnownFailure>,
    /// The directory `{dir}` stands for.
    pub dir: PathBuf,
    /// Where the definition came from (a path, or `<embedded> path`).
    pub source: String,
    /// The version `{version}` stands for, for versioned definitions.
    pub version: Option<String>,
    /// The pinned versions of a versioned definition.
    pub versions: Vec<String>,
    /// Programs it needs on PATH.
    pub tools: Vec<String>,
}

impl Supervisor {
    pub fn has_capability(&self, cap: Capability) -> bool {
        self.capabilities.contains(&cap)
    }

    /// The capabilities `requires` lists that this supervisor lacks.
    pub fn missing(&self, requires: &[Capability]) -> Vec<&'static str> {
        requires
            .iter()
            .filter(|r| !self.has_capability(**r))
            .map(|r| r.name())
            .collect()
    }

    /// The `tools` that are not on PATH.
    pub fn missing_tools(&self) -> Vec<String> {
        let path = std::env::var_os("PATH").unwrap_or_default();
        self.tools
            .iter()
            .filter(|t| !std::env::split_paths(&path).any(|d| d.join(t).is_file()))
            .cloned()
            .collect()
    }

    pub fn known_failure(&self, scenario_id: &str) -> Option<&KnownFailure> {
        self.known_failures
            .iter()
            .find(|k| k.scenario == scenario_id)
    }
}

/// Values for the placeholders.
#[derive(Debug, Clone, Default)]
pub struct Vars {
    pub harness: String,
    pub root: String,
    pub dir: String,
    pub cli: Option<String>,
    pub plan: Option<String>,
    pub run_dir: Option<String>,
    pub cache: String,
    pub version: Option<String>,
}

impl Vars {
    pub fn new(ctx: &Context, sup: &Supervisor) -> Vars {
        Vars {
            harness: ctx.harness_bin.display().to_string(),
            root: ctx.root.display().to_string(),
            dir: sup.dir.display().to_string(),
            cache: cache_dir(ctx, sup).display().to_string(),
            version: sup.version.clone(),
            ..Vars::default()
        }
    }

    /// Replace the known placeholders in `s`; unknown `{...}` stays as written.
    pub fn expand(&self, s: &str) -> String {
        let mut out = s.to_string();
        let pairs = [
            ("{harness}", Some(&self.harness)),
            ("{root}", Some(&self.root)),
            ("{dir}", Some(&self.dir)),
            ("{cli}", self.cli.as_ref()),
            ("{plan}", self.plan.as_ref()),
            ("{run_dir}", self.run_dir.as_ref()),
            ("{cache}", Some(&self.cache)),
            ("{version}", self.version.as_ref()),
        ];
        for (key, value) in pairs {
            if let Some(v) = value {
                out = out.replace(key, v);
            }
        }
        out
    }
}

/// Where a supervisor's setup keeps what it builds or installs (one per name, so per version).
pub fn cache_dir(ctx: &Context, sup: &Supervisor) -> PathBuf {
    ctx.root
        .join("target")
        .join("harness-setup")
        .join(&sup.name)
}

/// A definition that cannot be used, with `file:line:col` where known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefinitionError(pub String);

impl std::fmt::Display for DefinitionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DefinitionError {}

/// A serde-saphyr error as `source:line:col: message`.
pub(crate) fn yaml_error(e: &serde_saphyr::Error, source: &str) -> String {
    let raw = e.to_string();
    let first = raw.lines().next().unwrap_or("invalid YAML").trim();
    let message = first.trim_start_matches("error: ");
    let message = message
        .split_once(": ")
        .filter(|(head, _)| head.starts_with("line "))
        .map(|(_, rest)| rest)
        .unwrap_or(message);
    match e.location() {
        Some(l) => format!("{source}:{}:{}: {message}", l.line(), l.column()),
        None => format!("{source}: {message}"),
    }
}

/// Load a definition from YAML text. `dir` is what `{dir}` means and where a relative
/// known-failures file is looked for; `embedded_known` is used when that file is absent.
pub fn load_str(
    text: &str,
    source: &str,
    dir: &Path,
    embedded_known: Option<(&str, &str)>,
) -> Result<Supervisor, DefinitionError> {
    let file: DefinitionFile =
        serde_saphyr::from_str(text).map_err(|e| DefinitionError(yaml_error(&e, source)))?;
    let bad = |what: String| DefinitionError(format!("{source}: {what}"));
    if file.name.trim().is_empty() || file.name.contains(['/', ' ', ':']) {
        return Err(bad(format!(
            "`name` must be a non-empty word without `/`, `:` or spaces, got `{}`",
            file.name
        )));
    }
    if file.command.is_empty() {
        return Err(bad("`command` must name a program to run".into()));
    }
    if file.cli.via == CliVia::Flag && !file.command.iter().any(|a| a.contains("{cli}")) {
        return Err(bad(
            "`cli: {via: flag}` needs `{cli}` somewhere in `command`".into(),
        ));
    }
    if file.cli.via != CliVia::Env && file.cli.var.is_some() {
        return Err(bad("`cli.var` only applies to `via: env`".into()));
    }
    if let Some(setup) = &file.setup
        && setup.command.is_empty()
    {
        return Err(bad("`setup.command` must name a program to run".into()));
    }
    let defaults = Timeouts::default();
    let timeouts = Timeouts {
        run: file.timeouts.run.map_or(defaults.run, Millis::duration),
        teardown: file
            .timeouts
            .teardown
            .map_or(defaults.teardown, Millis::duration),
        setup: file.timeouts.setup.map_or(defaults.setup, Millis::duration),
    };
    let version = file.versions.last().cloned();
    let known_failures = load_known_failures(&file, dir, embedded_known, version.as_deref())?;
    let name = match &version {
        Some(v) => format!("{}@{v}", file.name),
        None => file.name.clone(),
    };
    Ok(Supervisor {
        name,
        description: file.description,
        command: file.command,
        env: file.env,
        cwd: file.cwd,
        cli: file.cli,
        setup: file.setup,
        capabilities: file.capabilities,
        policy: file.policy,
        timeouts,
        known_failures,
        dir: dir.to_path_buf(),
        source: source.to_string(),
        version,
        versions: file.versions,
        tools: file.tools,
    })
}

/// The same definition at another version: its name, `{version}` and known failures follow.
pub fn at_version(mut sup: Supervisor, version: &str) -> Result<Supervisor, DefinitionError> {
    if sup.versions.is_empty() {
        return Err(DefinitionError(format!(
            "{}: `{}` has no `versions`, so `@{version}` means nothing",
            sup.source, sup.name
        )));
    }
    if version.is_empty()
        || !version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-+_".contains(c))
    {
        return Err(DefinitionError(format!("`{version}` is not a version")));
    }
    let base = sup.name.split('@').next().unwrap_or_default().to_string();
    sup.name = format!("{base}@{version}");
    sup.version = Some(version.to_string());
    let per_version = sup.dir.join(format!("known-failures@{version}.yaml"));
    sup.known_failures = match std::fs::read_to_string(&per_version) {
        Ok(text) => known_failures::parse(&text, &per_version.display().to_string())
            .map_err(DefinitionError)?,
        Err(_) => sup.known_failures,
    };
    Ok(sup)
}

fn load_known_failures(
    file: &DefinitionFile,
    dir: &Path,
    embedded: Option<(&str, &str)>,
    version: Option<&str>,
) -> Result<Vec<KnownFailure>, DefinitionError> {
    let explicit = file.known_failures.is_some();
    let versioned = version
        .map(|v| format!("known-failures@{v}.yaml"))
        .filter(|n| dir.join(n).is_file());
    let name = versioned
        .or_else(|| file.known_failures.clone())
        .or_else(|| embedded.map(|(n, _)| n.to_string()))
        .unwrap_or_else(|| "known-failures.yaml".to_string());
    let path = dir.join(&name);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            known_failures::parse(&text, &path.display().to_string()).map_err(DefinitionError)
        }
        Err(_) => match embedded {
            Some((n, text)) if n == name => {
                known_failures::parse(text, &format!("<embedded> {n}")).map_err(DefinitionError)
            }
            _ if explicit => Err(DefinitionError(format!(
                "known-failures file {} not found",
                path.display()
            ))),
            _ => Ok(Vec::new()),
        },
    }
}

/// Load `path`: a `supervisor.yaml`-style file, or a directory holding `supervisor.yaml`.
pub fn load_path(path: &Path) -> Result<Supervisor, DefinitionError> {
    let file = if path.is_dir() {
        path.join("supervisor.yaml")
    } else {
        path.to_path_buf()
    };
    let text = std::fs::read_to_string(&file).map_err(|e| {
        DefinitionError(format!(
            "cannot read supervisor definition {}: {e}",
            file.display()
        ))
    })?;
    let dir = file
        .parent()
        .map(|p| {
            if p.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                p.to_path_buf()
            }
        })
        .unwrap_or_else(|| PathBuf::from("."));
    let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
    load_str(&text, &file.display().to_string(), &dir, None)
}

/// An embedded definition, as if its file were at `ctx.root/path`.
pub fn load_embedded(e: &Embedded, ctx: &Context) -> Result<Supervisor, DefinitionError> {
    let file = ctx.root.join(e.path);
    let dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
    load_str(
        e.yaml,
        &format!("<embedded> {}", e.path),
        &dir,
        e.known_failures,
    )
}

/// The embedded defaults: the reference in every driving style.
pub fn defaults(ctx: &Context) -> Result<Vec<Supervisor>, DefinitionError> {
    EMBEDDED
        .iter()
        .filter(|e| e.default)
        .map(|e| load_embedded(e, ctx))
        .collect()
}

/// Every embedded definition, defaults or not.
pub fn embedded(ctx: &Context) -> Result<Vec<Supervisor>, DefinitionError> {
    EMBEDDED.iter().map(|e| load_embedded(e, ctx)).collect()
}

/// `--supervisor S`: a path (file or directory), a name under `supervisors/`, or an embedded
/// name.
pub fn resolve(spec: &str, ctx: &Context) -> Result<Supervisor, DefinitionError> {
    if let Some((name, version)) = spec.rsplit_once('@')
        && !name.is_empty()
    {
        let sup = resolve(name, ctx)?;
        return at_version(sup, version);
    }
    let as_path = Path::new(spec);
    let looks_like_path = spec.contains('/') || spec.ends_with(".yaml") || spec.ends_with(".yml");
    if as_path.exists() && (looks_like_path || as_path.is_file()) {
        return load_path(as_path);
    }
    let by_name = ctx
        .root
        .join("supervisors")
        .join(spec)
        .join("supervisor.yaml");
    if !looks_like_path && by_name.is_file() {
        return load_path(&by_name);
    }
    if let Some(e) = EMBEDDED.iter().find(|e| e.name == spec) {
        return load_embedded(e, ctx);
    }
    if looks_like_path {
        return Err(DefinitionError(format!(
            "no supervisor definition at {spec}"
        )));
    }
    Err(DefinitionError(format!(
        "unknown supervisor `{spec}`: known names are {}; or give a path to a supervisor.yaml",
        known_names(ctx).join(", ")
    )))
}

/// Every supervisor the repository defines: the embedded defaults, then each directory under
/// `supervisors/` holding a `supervisor.yaml` (every pinned version of a versioned one), by name.
pub fn all_in_repo(ctx: &Context) -> Result<Vec<Supervisor>, DefinitionError> {
    let mut sups = embedded(ctx)?;
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(ctx.root.join("supervisors"))
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    dirs.sort();
    for d in dirs {
        if !d.join("supervisor.yaml").is_file() {
            continue;
        }
        let sup = load_path(&d)?;
        let expanded = if sup.versions.is_empty() {
            vec![sup]
        } else {
            sup.versions
                .clone()
                .iter()
                .map(|v| at_version(sup.clone(), v))
                .collect::<Result<Vec<_>, _>>()?
        };
        for s in expanded {
            if !sups.iter().any(|x| x.name == s.name) {
                sups.push(s);
            }
        }
    }
    Ok(sups)
}

/// Embedded names plus the directories under `supervisors/` that hold a `supervisor.yaml`.
pub fn known_names(ctx: &Context) -> Vec<String> {
    let mut names: Vec<String> = EMBEDDED.iter().map(|e| e.name.to_string()).collect();
    if let Ok(entries) = std::fs::read_dir(ctx.root.join("supervisors")) {
        for e in entries.flatten() {
            if e.path().join("supervisor.yaml").is_file()
                && let Some(n) = e.file_name().to_str()
                && !names.iter().any(|x| x == n)
            {
                names.push(n.to_string());
            }
        }
    }
    names.sort();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Supervisor, DefinitionError> {
        load_str(text, "s.yaml", Path::new("/nowhere"), None)
    }

    #[test]
    fn embedded_definitions_load() {
        let ctx = Context {
            root: PathBuf::from("/repo"),
            harness_bin: PathBuf::from("/bin/harness"),
        };
        let sups = defaults(&ctx).unwrap();
        assert_eq!(sups[0].name, "reference");
        assert_eq!(sups[0].policy.as_deref(), Some("foreground-only"));
        assert_eq!(sups[1].name, "reference-background");
        assert_eq!(sups[1].policy.as_deref(), Some("background-aware"));
        assert_eq!(sups[0].dir, PathBuf::from("/repo/supervisors/reference"));
    }

    #[test]
    fn minimal_and_defaults() {
        let s = load("name: mine\ncommand: [python3, adapter.py]\n").unwrap();
        assert_eq!(s.cli.via, CliVia::Env);
        assert_eq!(s.timeouts, Timeouts::default());
        assert!(s.known_failures.is_empty());
    }

    #[test]
    fn errors_name_file_line_and_column() {
        let e = load("name: mine\ncommand: [x]\ncomand: [y]\n").unwrap_err();
        assert!(e.0.starts_with("s.yaml:3:1:"), "{e}");
        assert!(e.0.contains("comand"), "{e}");
        let e = load("name: mine\ncommand: []\n").unwrap_err();
        assert!(e.0.contains("`command`"), "{e}");
        let e = load("name: m\ncommand: [x]\ncli: {via: flag}\n").unwrap_err();
        assert!(e.0.contains("{cli}"), "{e}");
        let e = load("name: m\ncommand: [x]\ntimeouts: {run: soon}\n").unwrap_err();
        assert!(e.0.starts_with("s.yaml:3:"), "{e}");
        let e =
            load("name: m\ncommand: [x]\ncapabilities: [one-shot, stream-inputs]\n").unwrap_err();
        assert!(
            e.0.starts_with("s.yaml:3:") && e.0.contains("stream-inputs"),
            "{e}"
        );
    }

    #[test]
    fn every_embedded_style_claims_what_it_does() {
        let ctx = Context {
            root: "/r".into(),
            harness_bin: "/h".into(),
        };
        let caps = |name: &str| {
            let sup = embedded(&ctx).unwrap().into_iter().find(|s| s.name == name);
            sup.unwrap().capabilities
        };
        use Capability::*;
        for sdk in ["reference", "reference-background"] {
            assert!(caps(sdk).contains(&ControlProtocol) && caps(sdk).contains(&StreamInput));
        }
        assert_eq!(
            caps("reference-headless"),
            [OneShot, StreamInput, StreamOutput, IdleTimeout]
        );
        assert_eq!(caps("reference-print"), [OneShot]);
    }

    #[test]
    fn resolve_by_name_path_or_embedded() {
        let root = tempfile::tempdir().unwrap();
        let mine = root.path().join("supervisors/mine");
        std::fs::create_dir_all(&mine).unwrap();
        std::fs::write(mine.join("supervisor.yaml"), "name: mine\ncommand: [x]\n").unwrap();
        std::fs::write(
            mine.join("known-failures.yaml"),
            "- {scenario: seed/a, reason: r}\n",
        )
        .unwrap();
        let ctx = Context {
            root: root.path().to_path_buf(),
            harness_bin: "/h".into(),
        };
        let by_name = resolve("mine", &ctx).unwrap();
        assert_eq!(by_name.known_failures.len(), 1);
        assert!(by_name.known_failure("seed/a").is_some());
        let by_dir = resolve(mine.to_str().unwrap(), &ctx).unwrap();
        assert_eq!(by_dir.name, "mine");
        let by_file = resolve(mine.join("supervisor.yaml").to_str().unwrap(), &ctx).unwrap();
        assert_eq!(by_file.dir, std::fs::canonicalize(&mine).unwrap());
        assert_eq!(
            resolve("reference-background", &ctx).unwrap().name,
            "reference-background"
        );
        let e = resolve("nope", &ctx).unwrap_err();
        assert!(e.0.contains("mine, reference, reference-background"), "{e}");
        assert!(
            resolve("./nope.yaml", &ctx)
                .unwrap_err()
                .0
                .contains("no supervisor")
        );
    }

    #[test]
    fn placeholders_expand_and_leave_json_alone() {
        let v = Vars {
            harness: "/h".into(),
            root: "/r".into(),
            dir: "/d".into(),
            cli: Some("/c".into()),
            plan: None,
            run_dir: None,
            cache: "/k".into(),
            version: Some("1.2.3".into()),
        };
        assert_eq!(v.expand("{harness} {cli} {dir}/x {root}"), "/h /c /d/x /r");
        assert_eq!(v.expand("{cache}/venv@{version}"), "/k/venv@1.2.3");
        assert_eq!(
            v.expand(r#"echo {"type":"end"} {plan}"#),
            r#"echo {"type":"end"} {plan}"#
        );
    }

    #[test]
    fn versioned_definitions_resolve_by_name_at_version() {
        let dir = tempfile::tempdir().unwrap();
        let sdir = dir.path().join("supervisors/py");
        std::fs::create_dir_all(&sdir).unwrap();
        std::fs::write(
            sdir.join("supervisor.yaml"),
            "name: py\nversions: [\"1.0\", \"2.0\"]\ncommand: [\"{cache}/bin/py\", \"{version}\"]\n",
        )
        .unwrap();
        std::fs::write(
            sdir.join("known-failures@1.0.yaml"),
            "- {scenario: seed/x, reason: old bug}\n",
        )
        .unwrap();
        let ctx = Context {
            root: dir.path().to_path_buf(),
            harness_bin: "/h".into(),
        };
        let old = resolve("py@1.0", &ctx).unwrap();
        assert_eq!(old.name, "py@1.0");
        assert!(old.known_failure("seed/x").is_some());
        let default = resolve("py", &ctx).unwrap();
        assert_eq!(default.name, "py@2.0");
        assert!(default.known_failure("seed/x").is_none());
        let any = resolve("py@3.1.4", &ctx).unwrap();
        assert_eq!(Vars::new(&ctx, &any).expand("{version}"), "3.1.4");
        assert!(
            Vars::new(&ctx, &any)
                .expand("{cache}")
                .ends_with("harness-setup/py@3.1.4")
        );
        let all: Vec<String> = all_in_repo(&ctx)
            .unwrap()
            .into_iter()
            .map(|s| s.name)
            .collect();
        assert!(all.contains(&"py@1.0".to_string()) && all.contains(&"py@2.0".to_string()));
        assert!(resolve("py@bad version", &ctx).is_err());
    }
}
