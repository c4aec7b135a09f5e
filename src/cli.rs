//! The command line: clap parsing, checking the arguments, and reporting.
//! Work is done by the library; this module only wires it up and prints.

use std::borrow::Cow;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::{self, Config, Sources};
use crate::error::ConfigError;
use crate::plan::{self, Discovery, Kind, Range, SqlFile, Target, TransactionMode};
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
    pub target: String,
    #[command(flatten)]
    pub mode: ModeArgs,
    #[command(flatten)]
    pub online: OnlineArgs,
}

/// `dmig stamp`.
#[derive(Debug, Args)]
pub struct StampArgs {
    /// The version the table should say; with --sql also FROM:TO.
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
        _ => anyhow::bail!("online mode is not available in this build yet; use --sql"),
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
