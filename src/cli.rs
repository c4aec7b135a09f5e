//! The command line: clap parsing, checking the arguments, and reporting.
//! Work is done by the library; this module only wires it up and prints.

use std::borrow::Cow;
use std::collections::HashSet;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::{self, Config, Sources};
use crate::error::ConfigError;
use crate::online;
use crate::plan::{self, Discovery, Kind, Range, Request, SqlFile, Target, TransactionMode};
use crate::render::{self, Output};
use crate::scaffold;

/// Exit code when `check` finds pending revisions or drift.
pub const EXIT_PENDING: u8 = 3;
/// Exit code for bad usage (clap uses it too).
pub const EXIT_USAGE: u8 = 2;

/// A PostgreSQL migrator for Diesel-format migrations: apply them online, or
/// render them to a reviewable SQL script for psql.
#[derive(Debug, Parser)]
#[command(name = "dmig", version, about, max_term_width = 100)]
pub struct Cli {
    /// Database URL (else DATABASE_URL, also read from .env).
    #[arg(long, global = true, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Path to diesel.toml (else DIESEL_CONFIG_FILE, else the nearest one upward).
    #[arg(long, global = true, env = "DIESEL_CONFIG_FILE")]
    pub config_file: Option<PathBuf>,
    /// The migrations directory (else MIGRATION_DIRECTORY, else diesel.toml, else migrations/ upward).
    #[arg(long, global = true, env = "MIGRATION_DIRECTORY")]
    pub migration_dir: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Bring the database (or, with --sql, a script) up to TARGET [default: head].
    Upgrade(UpgradeArgs),
    /// Revert applied revisions down to TARGET (with --sql: a FROM:TO range, e.g. head:base).
    Downgrade(DowngradeArgs),
    /// Set the version table to TARGET without running any revision SQL.
    Stamp(StampArgs),
    /// Print the applied version(s).
    Current(CurrentArgs),
    /// List revisions newest first (with --online, marked applied or pending).
    History(HistoryArgs),
    /// List revisions with their state in the database.
    Status(StatusArgs),
    /// Exit 0 when the database is at head, 3 when something is pending or drifted.
    Check(CheckArgs),
    /// Create a new revision directory with up.sql and down.sql.
    Revision(RevisionArgs),
    /// Print one revision's up.sql (or --down).
    Show(ShowArgs),
    /// Create diesel.toml, migrations/ and sql-out/ where missing.
    Init,
}

/// Online or offline.
#[derive(Debug, Args, Clone, Default)]
pub struct ModeArgs {
    /// Render SQL to stdout (or --out) instead of connecting.
    #[arg(long, conflicts_with = "online")]
    pub sql: bool,
    /// Apply to the database (the default).
    #[arg(long)]
    pub online: bool,
    /// With --sql: write to this file, or into this directory (e.g. sql-out/).
    #[arg(long, value_name = "FILE|DIR", requires = "sql")]
    pub out: Option<PathBuf>,
    /// Transaction grouping.
    #[arg(long, value_enum, default_value_t = TransactionArg::PerRevision)]
    pub transaction: TransactionArg,
}

/// Options of commands that talk to the database.
#[derive(Debug, Args, Clone)]
pub struct OnlineArgs {
    /// Seconds to wait for another migrator's lock before giving up.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub lock_wait: u64,
    /// Seconds to wait for a connection.
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub connect_timeout: u64,
    /// Print nothing but errors.
    #[arg(long, short)]
    pub quiet: bool,
}

/// `--transaction`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum TransactionArg {
    /// One transaction per revision, as Diesel runs them.
    #[default]
    PerRevision,
    /// One transaction around the whole run (refused with a non-transactional revision).
    Single,
}

impl From<TransactionArg> for TransactionMode {
    fn from(arg: TransactionArg) -> Self {
        match arg {
            TransactionArg::PerRevision => TransactionMode::PerRevision,
            TransactionArg::Single => TransactionMode::Single,
        }
    }
}

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    /// For people.
    #[default]
    Text,
    /// A stable JSON document.
    Json,
}

/// `dmig upgrade`.
#[derive(Debug, Args)]
pub struct UpgradeArgs {
    /// head, base, a version, a directory name, a unique prefix, +N; with --sql also FROM:TO.
    #[arg(allow_hyphen_values = true)]
    pub target: Option<String>,
    #[command(flatten)]
    pub mode: ModeArgs,
    /// Refuse pending revisions older than the newest applied one.
    #[arg(long)]
    pub strict: bool,
    #[command(flatten)]
    pub online: OnlineArgs,
}

/// `dmig downgrade`.
#[derive(Debug, Args)]
pub struct DowngradeArgs {
    /// base, a version, a prefix, -N; with --sql a FROM:TO range such as head:base.
    #[arg(allow_hyphen_values = true)]
    pub target: String,
    #[command(flatten)]
    pub mode: ModeArgs,
    #[command(flatten)]
    pub online: OnlineArgs,
}

/// `dmig stamp`.
#[derive(Debug, Args)]
pub struct StampArgs {
    /// The version the table should say (or -N); with --sql also FROM:TO.
    #[arg(allow_hyphen_values = true)]
    pub target: String,
    #[command(flatten)]
    pub mode: ModeArgs,
    #[command(flatten)]
    pub online: OnlineArgs,
}

/// `dmig current`.
#[derive(Debug, Args)]
pub struct CurrentArgs {
    /// Every applied version with its run_on time.
    #[arg(long, short)]
    pub verbose: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    #[command(flatten)]
    pub online: OnlineArgs,
}

/// `dmig history`.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Mark each revision applied or pending (connects).
    #[arg(long)]
    pub online: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    #[command(flatten)]
    pub online_args: OnlineArgs,
}

/// `dmig status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    #[command(flatten)]
    pub online: OnlineArgs,
}

/// `dmig check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    #[command(flatten)]
    pub online: OnlineArgs,
}

/// `dmig revision`.
#[derive(Debug, Args)]
pub struct RevisionArgs {
    /// What the revision does; becomes the directory name (`create users` -> `<timestamp>_create_users`).
    #[arg(short = 'm', long = "message")]
    pub message: String,
    /// Write a metadata.toml that runs the revision outside a transaction (for CREATE INDEX CONCURRENTLY).
    #[arg(long)]
    pub no_transaction: bool,
}

/// `dmig show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A version, a directory name, a unique prefix, or head.
    pub target: String,
    /// Print down.sql instead of up.sql.
    #[arg(long)]
    pub down: bool,
}

/// A usage mistake clap cannot see; `main` exits 2 for it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Run a parsed command line. Returns the exit code for success paths
/// (0, or 3 from `check`); errors become exit 1 (or 2 for [`UsageError`]).
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let sources = Sources {
        config_file: cli.config_file.clone(),
        migration_dir: cli.migration_dir.clone(),
    };
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    match cli.command {
        Command::Init => {
            for action in scaffold::init(&cwd)? {
                match action {
                    scaffold::InitAction::Created(p) => eprintln!("created {}", relative(&p, &cwd)),
                    scaffold::InitAction::Kept(p) => {
                        eprintln!("kept {} (already exists)", relative(&p, &cwd))
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Revision(args) => {
            let dir = match config::resolve(&sources, &cwd) {
                Ok(config) => config.migration_dir,
                Err(ConfigError::NoMigrationDir { .. }) => cwd.join("migrations"),
                Err(e) => return Err(e.into()),
            };
            let created = scaffold::new_revision(
                &dir,
                &args.message,
                args.no_transaction,
                std::time::SystemTime::now(),
            )?;
            println!("{}", relative(&created, &cwd));
            Ok(ExitCode::SUCCESS)
        }
        Command::Show(args) => {
            let (_, discovery) = load(&sources, &cwd)?;
            show(&discovery, &args)
        }
        Command::Upgrade(args) if args.mode.sql => {
            let range = args.target.as_deref().unwrap_or("base:head");
            offline(&sources, &cwd, Kind::Upgrade, range, &args.mode)
        }
        Command::Downgrade(args) if args.mode.sql => {
            if !args.target.contains(':') {
                return Err(UsageError(format!(
                    "downgrade --sql needs a FROM:TO range (e.g. `head:{}`): offline, dmig cannot know what is applied",
                    args.target
                ))
                .into());
            }
            offline(&sources, &cwd, Kind::Downgrade, &args.target, &args.mode)
        }
        Command::Stamp(args) if args.mode.sql => {
            offline(&sources, &cwd, Kind::Stamp, &args.target, &args.mode)
        }
        Command::History(args) if !args.online => {
            let (_, discovery) = load(&sources, &cwd)?;
            history_offline(&discovery, args.format)
        }
        Command::Upgrade(args) => {
            let target = args.target.as_deref().unwrap_or("head");
            let online = OnlineRun::new(&cli.database_url, &args.online)?;
            online.migrate(
                &sources,
                &cwd,
                Kind::Upgrade,
                target,
                &args.mode,
                args.strict,
            )
        }
        Command::Downgrade(args) => {
            let online = OnlineRun::new(&cli.database_url, &args.online)?;
            online.migrate(
                &sources,
                &cwd,
                Kind::Downgrade,
                &args.target,
                &args.mode,
                false,
            )
        }
        Command::Stamp(args) => {
            let online = OnlineRun::new(&cli.database_url, &args.online)?;
            online.migrate(&sources, &cwd, Kind::Stamp, &args.target, &args.mode, false)
        }
        Command::Current(args) => {
            let online = OnlineRun::new(&cli.database_url, &args.online)?;
            online.current(args.verbose, args.format)
        }
        Command::History(args) => {
            let online = OnlineRun::new(&cli.database_url, &args.online_args)?;
            online.status(&sources, &cwd, args.format)
        }
        Command::Status(args) => {
            let online = OnlineRun::new(&cli.database_url, &args.online)?;
            online.status(&sources, &cwd, args.format)
        }
        Command::Check(args) => {
            let online = OnlineRun::new(&cli.database_url, &args.online)?;
            online.check(&sources, &cwd, args.format)
        }
    }
}

/// Resolve the config and discover revisions, printing discovery warnings.
fn load(sources: &Sources, cwd: &std::path::Path) -> anyhow::Result<(Config, Discovery)> {
    let config = config::resolve(sources, cwd)?;
    let discovery = plan::discover(&config.migration_dir)?;
    if !discovery.metadata_without_key.is_empty() {
        eprintln!(
            "warning: metadata.toml without `run_in_transaction` in {}: Diesel (and so dmig) runs these outside a transaction; write `run_in_transaction = false` (or true) to say what you mean",
            discovery.metadata_without_key.join(", ")
        );
    }
    Ok((config, discovery))
}

fn offline(
    sources: &Sources,
    cwd: &std::path::Path,
    kind: Kind,
    raw_range: &str,
    mode: &ModeArgs,
) -> anyhow::Result<ExitCode> {
    let (_, discovery) = load(sources, cwd)?;
    let range = Range::parse(raw_range)?;
    let planned = plan::plan_range(
        &discovery.revisions,
        kind,
        &range,
        raw_range,
        mode.transaction.into(),
    )?;
    let sql = planned.load_sql()?;
    let output = Output::from_arg(mode.out.as_deref());
    if let Some(path) = render::write_script(&planned, &sql, &output)? {
        eprintln!(
            "wrote {} ({} {}:{}, {} revision(s))",
            relative(&path, cwd),
            kind.as_str(),
            planned.from,
            planned.to,
            planned.steps.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn show(discovery: &Discovery, args: &ShowArgs) -> anyhow::Result<ExitCode> {
    let revisions = &discovery.revisions;
    let target = Target::parse(&args.target)?;
    let position = plan::target::resolve(&target, &args.target, revisions, revisions.len())?;
    let Some(revision) = position.checked_sub(1).map(|i| &revisions[i]) else {
        return Err(UsageError(format!(
            "`{}` names no revision; give a version, a directory name or head",
            args.target
        ))
        .into());
    };
    let file = if args.down {
        SqlFile::Down
    } else {
        SqlFile::Up
    };
    let text: Cow<'_, str> = revision.read_sql(file)?;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    if !text.ends_with('\n') {
        stdout.write_all(b"\n")?;
    }
    Ok(ExitCode::SUCCESS)
}

fn history_offline(discovery: &Discovery, format: Format) -> anyhow::Result<ExitCode> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match format {
        Format::Json => {
            let revisions: Vec<_> = discovery
                .revisions
                .iter()
                .rev()
                .map(|r| {
                    serde_json::json!({
                        "version": r.version,
                        "name": r.name,
                        "run_in_transaction": r.run_in_transaction,
                        "has_down": r.down.is_some(),
                    })
                })
                .collect();
            serde_json::to_writer_pretty(&mut out, &serde_json::json!({ "revisions": revisions }))?;
            writeln!(out)?;
        }
        Format::Text => {
            let width = discovery
                .revisions
                .iter()
                .map(|r| r.version.len())
                .max()
                .unwrap_or(7)
                .max(7);
            writeln!(
                out,
                "{:width$}  {:11}  {:4}  NAME",
                "VERSION", "TRANSACTION", "DOWN"
            )?;
            for r in discovery.revisions.iter().rev() {
                writeln!(
                    out,
                    "{:width$}  {:11}  {:4}  {}",
                    r.version,
                    if r.run_in_transaction { "yes" } else { "no" },
                    if r.down.is_some() { "yes" } else { "no" },
                    render::comment_safe(&r.name)
                )?;
            }
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// A path shown relative to the working directory when it is below it.
fn relative(path: &std::path::Path, cwd: &std::path::Path) -> String {
    path.strip_prefix(cwd).unwrap_or(path).display().to_string()
}

/// An online command: the URL, the options, and a runtime to drive diesel-async.
struct OnlineRun {
    url: String,
    options: OnlineArgs,
    runtime: tokio::runtime::Runtime,
}

impl OnlineRun {
    fn new(url: &Option<String>, options: &OnlineArgs) -> anyhow::Result<OnlineRun> {
        let url = url.clone().filter(|u| !u.trim().is_empty()).ok_or_else(|| {
            UsageError(
                "no database URL: pass --database-url or set DATABASE_URL (a .env file works too); to render SQL without a database, use --sql".to_string(),
            )
        })?;
        // AsyncMigrationHarness uses block_in_place: it needs a multi-thread runtime.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .context("cannot start the async runtime")?;
        Ok(OnlineRun {
            url,
            options: options.clone(),
            runtime,
        })
    }

    fn pool(&self) -> anyhow::Result<online::PgPool> {
        let options = online::ConnectOptions {
            connect_timeout: Duration::from_secs(self.options.connect_timeout),
        };
        Ok(self
            .runtime
            .block_on(online::connect_pool(&self.url, &options))?)
    }

    fn migrate(
        &self,
        sources: &Sources,
        cwd: &Path,
        kind: Kind,
        raw_target: &str,
        mode: &ModeArgs,
        strict: bool,
    ) -> anyhow::Result<ExitCode> {
        if raw_target.contains(':') {
            return Err(UsageError(format!(
                "`{raw_target}` is a range; ranges are for rendering SQL (--sql). Online, give one target"
            ))
            .into());
        }
        let (_, discovery) = load(sources, cwd)?;
        let target = Target::parse(raw_target)?;
        let request = Request {
            kind,
            target: &target,
            raw_target,
            transaction: mode.transaction.into(),
            strict,
        };
        let pool = self.pool()?;
        let run_options = online::RunOptions {
            lock_wait: Duration::from_secs(self.options.lock_wait),
        };
        let mut progress = Progress::new(kind, self.options.quiet);
        let started = Instant::now();
        let outcome = self.runtime.block_on(online::migrate(
            &pool,
            &discovery.revisions,
            &request,
            &run_options,
            &mut progress,
        ));
        progress.finish_bar();
        let outcome = outcome?;
        if !self.options.quiet {
            let verb = match kind {
                Kind::Upgrade => "upgraded",
                Kind::Downgrade => "downgraded",
                Kind::Stamp => "stamped",
            };
            if outcome.steps.is_empty() {
                eprintln!("nothing to do: the database is at {}", outcome.from);
            } else {
                eprintln!(
                    "{verb} {} revision(s) from {} to {} in {}",
                    outcome.steps.len(),
                    outcome.from,
                    outcome.to,
                    format_duration(started.elapsed())
                );
            }
        }
        Ok(ExitCode::SUCCESS)
    }

    fn current(&self, verbose: bool, format: Format) -> anyhow::Result<ExitCode> {
        let pool = self.pool()?;
        let applied = self.runtime.block_on(async {
            let mut conn = online::checkout(&pool).await?;
            online::read_applied(&mut conn).await
        })?;
        let current = applied.last().map(|a| a.version.as_str());
        let mut out = std::io::stdout().lock();
        match format {
            Format::Json => {
                let json = serde_json::json!({ "current": current, "applied": applied });
                serde_json::to_writer_pretty(&mut out, &json)?;
                writeln!(out)?;
            }
            Format::Text if verbose => {
                for row in &applied {
                    writeln!(out, "{}  {}", row.version, row.run_on)?;
                }
            }
            Format::Text => writeln!(out, "{}", current.unwrap_or("base"))?,
        }
        Ok(ExitCode::SUCCESS)
    }

    fn read_status(&self, sources: &Sources, cwd: &Path) -> anyhow::Result<online::Status> {
        let (_, discovery) = load(sources, cwd)?;
        let pool = self.pool()?;
        Ok(self
            .runtime
            .block_on(online::status(&pool, &discovery.revisions))?)
    }

    fn status(&self, sources: &Sources, cwd: &Path, format: Format) -> anyhow::Result<ExitCode> {
        let status = self.read_status(sources, cwd)?;
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        match format {
            Format::Json => {
                serde_json::to_writer_pretty(&mut out, &status)?;
                writeln!(out)?;
            }
            Format::Text => {
                let width = status
                    .revisions
                    .iter()
                    .map(|r| r.version.len())
                    .chain(status.missing_on_disk.iter().map(|m| m.version.len()))
                    .max()
                    .unwrap_or(7)
                    .max(7);
                writeln!(out, "{:8}  {:width$}  NAME", "STATE", "VERSION")?;
                let late: HashSet<&str> = status.out_of_order.iter().map(String::as_str).collect();
                for r in status.revisions.iter().rev() {
                    let note = if late.contains(r.name.as_str()) {
                        "  (out of order: older than the newest applied)"
                    } else {
                        ""
                    };
                    writeln!(
                        out,
                        "{:8}  {:width$}  {}{note}",
                        r.state,
                        r.version,
                        render::comment_safe(&r.name)
                    )?;
                }
                for m in &status.missing_on_disk {
                    writeln!(
                        out,
                        "{:8}  {:width$}  (applied {}, not in the migrations directory)",
                        "missing", m.version, m.run_on
                    )?;
                }
            }
        }
        out.flush()?;
        Ok(ExitCode::SUCCESS)
    }

    fn check(&self, sources: &Sources, cwd: &Path, format: Format) -> anyhow::Result<ExitCode> {
        let status = self.read_status(sources, cwd)?;
        let pending: Vec<&str> = status
            .revisions
            .iter()
            .filter(|r| r.state == "pending")
            .map(|r| r.name.as_str())
            .collect();
        let missing: Vec<&str> = status
            .missing_on_disk
            .iter()
            .map(|m| m.version.as_str())
            .collect();
        let ok = status.is_at_head();
        if format == Format::Json {
            let json = serde_json::json!({
                "ok": ok,
                "current": status.current,
                "head": status.head,
                "pending": pending,
                "missing_on_disk": missing,
                "out_of_order": status.out_of_order,
            });
            let mut out = std::io::stdout().lock();
            serde_json::to_writer_pretty(&mut out, &json)?;
            writeln!(out)?;
        }
        if ok {
            if format == Format::Text && !self.options.quiet {
                eprintln!(
                    "up to date: at {}",
                    status.current.as_deref().unwrap_or("base")
                );
            }
            return Ok(ExitCode::SUCCESS);
        }
        if !pending.is_empty() {
            eprintln!(
                "{} revision(s) pending: {}",
                pending.len(),
                pending.join(", ")
            );
        }
        if !status.out_of_order.is_empty() {
            eprintln!(
                "out of order (pending but older than the newest applied): {}",
                status.out_of_order.join(", ")
            );
        }
        if !missing.is_empty() {
            eprintln!(
                "applied but missing from the migrations directory: {}",
                missing.join(", ")
            );
        }
        Ok(ExitCode::from(EXIT_PENDING))
    }
}

/// Per-revision lines on stderr, and a live bar when stderr is a terminal
/// and the run is long.
struct Progress {
    verb: &'static str,
    quiet: bool,
    bar: bool,
    total: usize,
}

/// Runs shorter than this print lines only.
const BAR_THRESHOLD: usize = 50;

impl Progress {
    fn new(kind: Kind, quiet: bool) -> Progress {
        let verb = match kind {
            Kind::Upgrade => "applied",
            Kind::Downgrade => "reverted",
            Kind::Stamp => "stamped",
        };
        Progress {
            verb,
            quiet,
            bar: false,
            total: 0,
        }
    }

    fn finish_bar(&mut self) {
        if self.bar {
            eprint!("\r\x1b[K");
            self.bar = false;
        }
    }
}

impl online::Observer for Progress {
    fn step_started(&mut self, step: &plan::Step<'_>, index: usize, total: usize) {
        if self.bar {
            eprint!(
                "\r\x1b[K[{:>width$}/{total}] {}",
                index + 1,
                render::comment_safe(&step.revision.name),
                width = total.to_string().len()
            );
        }
    }

    fn step_done(&mut self, step: &plan::Step<'_>, elapsed: Duration) {
        if self.quiet {
            return;
        }
        if self.bar {
            eprint!("\r\x1b[K");
        }
        eprintln!(
            "{} {}  {}",
            self.verb,
            render::comment_safe(&step.revision.name),
            format_duration(elapsed)
        );
    }
}

impl online::Events for Progress {
    fn waiting_for_lock(&mut self, holder: Option<i32>) {
        if !self.quiet {
            match holder {
                Some(pid) => eprintln!("waiting for the migration lock, held by pid {pid}"),
                None => eprintln!("waiting for the migration lock"),
            }
        }
    }

    fn planned(&mut self, plan: &plan::Plan<'_>) {
        self.total = plan.steps.len();
        self.bar = !self.quiet && self.total >= BAR_THRESHOLD && std::io::stderr().is_terminal();
        if !plan.out_of_order.is_empty() {
            let names: Vec<&str> = plan.out_of_order.iter().map(|r| r.name.as_str()).collect();
            eprintln!(
                "warning: applying {} revision(s) older than the newest applied one (out of order): {}",
                names.len(),
                names.join(", ")
            );
        }
    }
}

fn format_duration(elapsed: Duration) -> String {
    let ms = elapsed.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.1} ms")
    } else if ms < 10_000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{:.1} s", ms / 1000.0)
    }
}
