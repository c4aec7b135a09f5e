//! Raw arguments to a checked task (ripgrep's low/high args): targets and
//! ranges are parsed, the mode is decided, the database URL is required where
//! it is needed, all before any file is read or any connection opened.

use std::path::PathBuf;
use std::time::Duration;

use super::args::{
    AutogenerateArgs, ChecksumArgs, Cli, Command, ConnectArgs, DatabaseAction, Format, HistoryArgs,
    LockArgs, ModeArgs, OnlineConnectArgs, OnlineLockArgs, RetryArgs, SessionArgs, TransactionArg,
};
use super::layers::{Given, Layers};
use super::UsageError;
use crate::config::Sources;
use crate::dialect::SessionSettings;
use crate::error::PlanError;
use crate::online::pg::conninfo::Environment;
use crate::plan::{Kind, Range, Request, Target, TransactionMode};
use crate::render::Output;
use crate::schema::{self, DiffOptions, GenerateOptions};

/// What to do, checked.
#[derive(Debug)]
pub(crate) enum Task {
    /// `init`.
    Init,
    /// `database setup|reset|drop`: `drop` the database first (reset, drop),
    /// `create` it (setup, reset), then migrate to head when `migrate` is set.
    Database {
        drop: bool,
        create: bool,
        online: Online,
        migrate: Option<Run>,
    },
    /// `completions`.
    Completions { shell: clap_complete::Shell },
    /// `revision`.
    Revision {
        message: String,
        version: Option<String>,
        no_transaction: bool,
        with_down: bool,
    },
    /// `revision --autogenerate`.
    Autogenerate(Box<Autogenerate>),
    /// `verify`.
    Verify {
        scratch_url: String,
        connect_timeout: Duration,
        quiet: bool,
    },
    /// `show`.
    Show { target: Target, down: bool },
    /// `history` without `--online`.
    History { format: Format },
    /// `upgrade|downgrade|stamp|redo --sql`.
    Render {
        kind: Kind,
        range: Range,
        transaction: TransactionMode,
        session: SessionSettings,
        /// Write the companion table (`--checksums`, the default).
        checksums: bool,
        output: Output,
        /// `stamp --sql --purge`.
        purge: bool,
        /// How long a guarded script waits for the lock; `None` with `--plain`.
        guard: Option<Duration>,
    },
    /// `upgrade|downgrade|stamp|redo` online.
    Migrate { request: Request, run: Run },
    /// `current`.
    Current {
        verbose: bool,
        format: Format,
        online: Online,
    },
    /// `status`, `history --online`.
    Status { format: Format, online: Online },
    /// `check` (with `--schema`, schema.rs against the database too).
    Check {
        format: Format,
        quiet: bool,
        online: Online,
        schema: Option<SchemaFiles>,
    },
}

impl Task {
    /// The database the task connects to, if it connects to one.
    pub(crate) fn online(&self) -> Option<&Online> {
        match self {
            Task::Database { online, .. }
            | Task::Current { online, .. }
            | Task::Status { online, .. }
            | Task::Check { online, .. } => Some(online),
            Task::Migrate { run, .. } => Some(&run.online),
            Task::Autogenerate(task) => task.online.as_ref(),
            _ => None,
        }
    }
}

/// How an online run goes, whatever it does.
#[derive(Debug)]
pub(crate) struct Run {
    /// Where.
    pub online: Online,
    /// What the work session starts with.
    pub session: SessionSettings,
    /// Write the companion table (`--checksums`, the default).
    pub checksums: bool,
    /// How long to wait for the migration lock.
    pub lock_wait: Duration,
    /// `--retries`: how often a revision that could not get a lock is retried.
    pub retries: u32,
    /// Print nothing but errors.
    pub quiet: bool,
    /// What goes to stdout at the end.
    pub format: Format,
}

/// Which schema.rs files to read: `--schema FILE`s (empty: diesel.toml's
/// `[print_schema] file`), `--schema-key KEY`.
#[derive(Debug, Clone)]
pub(crate) struct SchemaFiles {
    pub files: Vec<PathBuf>,
    pub key: Option<String>,
}

/// `revision --autogenerate`, checked.
#[derive(Debug)]
pub(crate) struct Autogenerate {
    /// `-m`.
    pub message: String,
    pub schema: SchemaFiles,
    /// The application's database (`--database-url`), compared at head.
    pub online: Option<Online>,
    /// `--scratch-url`: the database side without `online`, and `--verify`.
    pub scratch_url: Option<String>,
    /// Destructive changes, renames, `--no-verify`.
    pub options: GenerateOptions,
    /// How long to wait for a connection to the scratch server.
    pub connect_timeout: Duration,
}

/// How to reach the database.
#[derive(Debug, Clone)]
pub(crate) struct Online {
    /// The database URL or keyword string (it may hold a password: never
    /// print it); empty to connect by the `PG*` environment alone.
    pub url: String,
    /// How long to wait for a connection.
    pub connect_timeout: Duration,
}

/// A checked command line.
#[derive(Debug)]
pub(crate) struct Settings {
    /// Where the configuration and revisions come from.
    pub sources: Sources,
    /// The task.
    pub task: Task,
}

impl From<TransactionArg> for TransactionMode {
    fn from(arg: TransactionArg) -> Self {
        match arg {
            TransactionArg::PerRevision => TransactionMode::PerRevision,
            TransactionArg::Single => TransactionMode::Single,
        }
    }
}

impl Settings {
    /// Check `cli`, whose `given` options were typed (the others are
    /// clap's defaults, below `DMIG_*` and `dmig.toml`); a usage mistake
    /// comes back as [`UsageError`].
    pub(crate) fn from_cli(cli: Cli, given: Given) -> anyhow::Result<Settings> {
        let sources = Sources {
            config_file: cli.config_file,
            migration_dir: cli.migration_dir,
        };
        // dmig's settings, for the commands that take any: a broken
        // dmig.toml must not stop `init` from writing a fresh one.
        let layers = match &cli.command {
            Command::Init
            | Command::Completions { .. }
            | Command::Show(_)
            | Command::History(HistoryArgs { online: false, .. }) => Layers::flags_only(given),
            Command::Revision(args) if !args.autogenerate.autogenerate => Layers::flags_only(given),
            _ => Layers::load(given, &sources)?,
        };
        let layers = &layers;
        let below = layers.below();
        let seconds = |flag: u64| layers.pick("connect_timeout", flag, below.connect_timeout);
        // `--database-url` where the command connects, else before it.
        let top_url = cli.database_url;
        let online = |url: &Option<String>, timeout: u64| -> anyhow::Result<Online> {
            // Like psql without arguments, PGHOST, PGDATABASE & co. alone say
            // where to go; the empty URL then means "the environment".
            let from_env = || Environment::system().names_a_server().then(String::new);
            let url = url
                .clone()
                .or_else(|| top_url.clone())
                .filter(|u| !u.trim().is_empty())
                .or_else(from_env)
                .ok_or_else(|| {
                    UsageError(
                        "no database URL: pass --database-url or set DATABASE_URL (a .env file works too) or PGHOST/PGDATABASE; to render SQL without a database, use --sql".to_string(),
                    )
                })?;
            Ok(Online {
                url,
                connect_timeout: Duration::from_secs(seconds(timeout)),
            })
        };
        // `--checksums` / `--no-checksums`, else DMIG_CHECKSUMS or dmig.toml,
        // else on.
        let checksums =
            |flag: &ChecksumArgs| -> bool { flag.setting().or(below.checksums).unwrap_or(true) };
        // What every online run takes, from its flags (`--lock-wait`,
        // `--retries` over the environment and dmig.toml).
        let run_with = |online: Online,
                        session: SessionArgs,
                        lock_wait: u64,
                        retries: u32,
                        quiet: bool,
                        format: Format|
         -> Run {
            Run {
                online,
                checksums: checksums(&session.checksums),
                session: layers.session(session),
                lock_wait: Duration::from_secs(layers.pick(
                    "lock_wait",
                    lock_wait,
                    below.lock_wait,
                )),
                retries: layers.pick("retries", retries, below.retries),
                quiet,
                format,
            }
        };
        let run = |connect: &ConnectArgs,
                   session: SessionArgs,
                   retry: RetryArgs,
                   lock: &LockArgs|
         -> anyhow::Result<Run> {
            let online = online(&connect.database_url, connect.connect_timeout)?;
            Ok(run_with(
                online,
                session,
                lock.lock_wait,
                retry.retries,
                lock.quiet,
                lock.format,
            ))
        };
        // How long a guarded script waits for the lock (flag > DMIG_LOCK_WAIT >
        // dmig.toml, as online); `None` for a plain script.
        let guard = |mode: &ModeArgs, lock: &LockArgs| -> Option<Duration> {
            (!mode.plain).then(|| {
                Duration::from_secs(layers.pick("lock_wait", lock.lock_wait, below.lock_wait))
            })
        };
        // The same for `database setup|reset`, which are always online.
        let setup = |connect: &OnlineConnectArgs,
                     session: SessionArgs,
                     lock: &OnlineLockArgs|
         -> anyhow::Result<Run> {
            let online = online(&connect.database_url, connect.connect_timeout)?;
            Ok(run_with(
                online,
                session,
                lock.lock_wait,
                lock.retries,
                lock.quiet,
                Format::Text,
            ))
        };
        let task = match cli.command {
            Command::Init => Task::Init,
            Command::Database(args) => {
                let confirm = |yes: bool, what: &str, online: &Online| -> anyhow::Result<()> {
                    if yes {
                        return Ok(());
                    }
                    let target = crate::online::pg::target(&online.url)
                        .map(|t| format!("`{}` ({t})", t.database))
                        .unwrap_or_else(|_| "the database".to_owned());
                    Err(UsageError(format!(
                        "`dmig database {what}` drops {target} of {}; pass --yes to confirm",
                        crate::online::pg::redact_url(&online.url)
                    ))
                    .into())
                };
                match args.action {
                    DatabaseAction::Setup(args) => Task::Database {
                        drop: false,
                        create: true,
                        online: online(&args.connect.database_url, args.connect.connect_timeout)?,
                        migrate: Some(setup(&args.connect, args.session, &args.lock)?),
                    },
                    DatabaseAction::Reset(args) => {
                        let online =
                            online(&args.connect.database_url, args.connect.connect_timeout)?;
                        confirm(args.yes, "reset", &online)?;
                        Task::Database {
                            drop: true,
                            create: true,
                            online,
                            migrate: Some(setup(&args.connect, args.session, &args.lock)?),
                        }
                    }
                    DatabaseAction::Drop(args) => {
                        let online =
                            online(&args.connect.database_url, args.connect.connect_timeout)?;
                        confirm(args.yes, "drop", &online)?;
                        Task::Database {
                            drop: true,
                            create: false,
                            online,
                            migrate: None,
                        }
                    }
                }
            }
            Command::Completions { shell } => Task::Completions { shell },
            Command::Revision(args) if args.autogenerate.autogenerate => {
                let url = args
                    .autogenerate
                    .database_url
                    .clone()
                    .or_else(|| top_url.clone())
                    .filter(|u| !u.trim().is_empty());
                let mut args = args;
                args.autogenerate.connect_timeout = seconds(args.autogenerate.connect_timeout);
                Task::Autogenerate(Box::new(autogenerate(
                    args.name.or(args.message).unwrap_or_default(),
                    args.autogenerate,
                    url,
                )?))
            }
            Command::Revision(args) => Task::Revision {
                // clap requires one of the two.
                message: args.name.or(args.message).unwrap_or_default(),
                version: args.version,
                no_transaction: args.no_transaction,
                with_down: !args.no_down,
            },
            Command::Verify(args) => Task::Verify {
                scratch_url: args.scratch_url,
                connect_timeout: Duration::from_secs(seconds(args.connect_timeout)),
                quiet: args.quiet,
            },
            Command::Show(args) => Task::Show {
                target: usage(Target::parse(&args.target))?,
                down: args.down,
            },
            Command::History(args) if !args.online => Task::History {
                format: args.format,
            },
            Command::History(args) => Task::Status {
                format: args.format,
                online: online(&args.database_url, args.connect_timeout)?,
            },
            Command::Current(args) => Task::Current {
                verbose: args.verbose,
                format: args.format,
                online: online(&args.connect.database_url, args.connect.connect_timeout)?,
            },
            Command::Status(args) => Task::Status {
                format: args.format,
                online: online(&args.connect.database_url, args.connect.connect_timeout)?,
            },
            Command::Check(args) => Task::Check {
                format: args.format,
                quiet: args.quiet,
                online: online(&args.connect.database_url, args.connect.connect_timeout)?,
                schema: args.schema.map(|files| SchemaFiles {
                    files,
                    key: args.schema_key,
                }),
            },
            Command::Upgrade(args) => {
                let transaction = layers.pick(
                    "transaction",
                    args.transaction.transaction.into(),
                    below.transaction,
                );
                match offline(&args.mode) {
                    Some(output) => Task::Render {
                        kind: Kind::Upgrade,
                        range: Range::parse_for(
                            Kind::Upgrade,
                            args.target.as_deref().unwrap_or("base:head"),
                        )?,
                        transaction,
                        checksums: checksums(&args.session.checksums),
                        session: layers.session(args.session),
                        output,
                        purge: false,
                        guard: guard(&args.mode, &args.lock),
                    },
                    None => Task::Migrate {
                        request: Request {
                            kind: Kind::Upgrade,
                            target: usage(Target::parse(args.target.as_deref().unwrap_or("head")))?,
                            transaction,
                            strict: layers.pick("strict", args.strict, below.strict),
                            purge: false,
                        },
                        run: run(&args.connect, args.session, args.retry, &args.lock)?,
                    },
                }
            }
            Command::Downgrade(args) => {
                let transaction = layers.pick(
                    "transaction",
                    args.transaction.transaction.into(),
                    below.transaction,
                );
                match offline(&args.mode) {
                    Some(output) => {
                        let range = match (&args.target, args.all) {
                            (_, true) => "head:base".to_owned(),
                            (Some(target), false) => target.clone(),
                            // Offline nothing says what is applied: FROM is needed.
                            (None, false) => "-1".to_owned(),
                        };
                        Task::Render {
                            kind: Kind::Downgrade,
                            range: usage(Range::parse_for(Kind::Downgrade, &range))?,
                            transaction,
                            checksums: checksums(&args.session.checksums),
                            session: layers.session(args.session),
                            output,
                            purge: false,
                            guard: guard(&args.mode, &args.lock),
                        }
                    }
                    None => {
                        // As `diesel migration revert`: one revision by default.
                        let target = match (&args.target, args.all) {
                            (_, true) => "base",
                            (Some(target), false) => target.as_str(),
                            (None, false) => "-1",
                        };
                        Task::Migrate {
                            request: Request {
                                kind: Kind::Downgrade,
                                target: usage(Target::parse(target))?,
                                transaction,
                                strict: false,
                                purge: false,
                            },
                            run: run(&args.connect, args.session, args.retry, &args.lock)?,
                        }
                    }
                }
            }
            Command::Redo(args) => {
                let below = if args.all {
                    "base".to_owned()
                } else {
                    format!("-{}", args.number.max(1))
                };
                match offline(&args.mode) {
                    // Offline, the script redoes the revisions below head.
                    Some(output) => Task::Render {
                        kind: Kind::Redo,
                        range: Range::parse_for(Kind::Redo, &format!("head:{below}"))?,
                        transaction: TransactionMode::PerRevision,
                        checksums: checksums(&args.session.checksums),
                        session: layers.session(args.session),
                        output,
                        purge: false,
                        guard: guard(&args.mode, &args.lock),
                    },
                    None => Task::Migrate {
                        request: Request {
                            kind: Kind::Redo,
                            target: Target::parse(&below)?,
                            transaction: TransactionMode::PerRevision,
                            strict: false,
                            purge: false,
                        },
                        run: run(&args.connect, args.session, args.retry, &args.lock)?,
                    },
                }
            }
            Command::Stamp(args) => match offline(&args.mode) {
                Some(output) => Task::Render {
                    kind: Kind::Stamp,
                    range: Range::parse_for(Kind::Stamp, &args.target)?,
                    transaction: TransactionMode::PerRevision,
                    checksums: checksums(&args.session.checksums),
                    session: layers.session(args.session),
                    output,
                    purge: args.purge,
                    guard: guard(&args.mode, &args.lock),
                },
                None => Task::Migrate {
                    request: Request {
                        kind: Kind::Stamp,
                        target: usage(Target::parse(&args.target))?,
                        transaction: TransactionMode::PerRevision,
                        strict: false,
                        purge: args.purge,
                    },
                    run: run(
                        &args.connect,
                        args.session,
                        RetryArgs::default(),
                        &args.lock,
                    )?,
                },
            },
        };
        Ok(Settings { sources, task })
    }
}

/// Check `revision --autogenerate`: renames parsed, a database to compare
/// with, and `--scratch-url` only where it does something.
fn autogenerate(
    message: String,
    args: AutogenerateArgs,
    url: Option<String>,
) -> anyhow::Result<Autogenerate> {
    let mut renames = Vec::new();
    for text in &args.rename {
        renames.push(
            schema::parse_column_rename(text)
                .ok_or_else(|| UsageError(format!("--rename {text}: expected TABLE.OLD=NEW")))?,
        );
    }
    for text in &args.rename_table {
        renames.push(
            schema::parse_table_rename(text)
                .ok_or_else(|| UsageError(format!("--rename-table {text}: expected OLD=NEW")))?,
        );
    }
    let scratch_url = args.scratch_url.filter(|u| !u.trim().is_empty());
    match (&url, &scratch_url) {
        (None, None) => {
            return Err(UsageError(
                "no database: pass --database-url (a database at head) or --scratch-url ADMIN_URL (a throwaway one)".to_string(),
            )
            .into())
        }
        // With the application's database the scratch server is only for
        // --verify: with --no-verify it would be ignored.
        (Some(_), Some(_)) if args.no_verify => {
            return Err(UsageError(
                "--scratch-url does nothing here: the diff is against the database URL (--database-url or DATABASE_URL) and --no-verify skips the scratch copy; drop one of them".to_string(),
            )
            .into())
        }
        _ => {}
    }
    let connect_timeout = Duration::from_secs(args.connect_timeout);
    Ok(Autogenerate {
        message,
        schema: SchemaFiles {
            files: args.schema,
            key: args.schema_key,
        },
        online: url.map(|url| Online {
            url,
            connect_timeout,
        }),
        scratch_url,
        options: GenerateOptions {
            diff: DiffOptions {
                allow_destructive: args.allow_destructive,
                renames,
                not_renames: args.not_rename,
                server_version_num: 0,
            },
            verify: args.no_verify.then_some(false),
        },
        connect_timeout,
    })
}

/// `Some(output)` when the command renders SQL (`--sql`); `None` online,
/// the default (`--online` says so explicitly).
fn offline(mode: &ModeArgs) -> Option<Output> {
    (mode.sql && !mode.online).then(|| Output::from_arg(mode.out.as_deref()))
}

/// A range where one target is expected, or a downgrade range without its
/// start, is a usage mistake (exit 2); other target errors are errors.
fn usage<T>(result: Result<T, PlanError>) -> anyhow::Result<T> {
    result.map_err(|error| match error {
        PlanError::RangeNotAllowed { .. } | PlanError::RangeNeedsFrom { .. } => {
            UsageError(error.to_string()).into()
        }
        other => other.into(),
    })
}
