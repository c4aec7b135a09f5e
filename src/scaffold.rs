//! `dmig revision` and `dmig init`: files on disk, named the way diesel CLI
//! names them, so both tools can share one project.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::config::{CONFIG_FILE_NAME, INIT_DIESEL_TOML};
use crate::model::Version;

/// What `revision` writes into a new `up.sql`.
pub const UP_TEMPLATE: &str = "-- Your SQL goes here\n";
/// What `revision` writes into a new `down.sql`.
pub const DOWN_TEMPLATE: &str = "-- This file should undo anything in `up.sql`\n";
/// What `revision --no-transaction` writes into `metadata.toml` (the key is
/// spelled out: Diesel reads a file without it as "no transaction" too, but
/// dmig warns about that form).
pub const NO_TRANSACTION_METADATA: &str = "run_in_transaction = false\n";

/// Errors creating files.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScaffoldError {
    /// A file or directory could not be created.
    #[error("cannot create `{}`", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The message gives no usable name.
    #[error("revision message {message:?} has no letters or digits to name the directory")]
    EmptyName {
        /// The message as given.
        message: String,
    },
    /// The directory exists already.
    #[error("`{}` already exists", path.display())]
    Exists {
        /// The directory.
        path: PathBuf,
    },
    /// `--version` names a version a revision has already.
    #[error("version `{version}` is taken by a revision in the migrations directory")]
    VersionTaken {
        /// The version as given.
        version: String,
    },
    /// `--version` names something that is not a usable version.
    #[error("invalid version `{version}`: {reason}")]
    InvalidVersion {
        /// The version as given.
        version: String,
        /// Why.
        reason: &'static str,
    },
}

/// `create users` -> `create_users`: lowercase ASCII letters and digits,
/// everything else collapsed to single underscores.
pub fn slug(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    for c in message.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
        }
    }
    while out.ends_with('_') {
        out.pop();
    }
    out
}

/// `%Y-%m-%d-%H%M%S` in UTC, the prefix `diesel migration generate` uses.
pub fn timestamp(now: SystemTime) -> String {
    let secs = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days as i64);
    format!(
        "{year:04}-{month:02}-{day:02}-{:02}{:02}{:02}",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's
/// `civil_from_days`), to avoid a date crate for one format string.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// What `dmig revision` creates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRevision<'a> {
    /// What the revision does; its slug names the directory.
    pub message: &'a str,
    /// The version prefix to use instead of the current UTC time (as
    /// `diesel migration generate --version`).
    pub version: Option<&'a str>,
    /// Write a `metadata.toml` that runs it outside a transaction.
    pub no_transaction: bool,
    /// Write a `down.sql`.
    pub with_down: bool,
}

/// Create `<dir>/<version>_<slug>/` with `up.sql`, `down.sql` (unless
/// `with_down` is false) and `metadata.toml` (when `no_transaction`), from
/// the templates. Returns the new directory (see [`write_revision`]).
pub fn new_revision(
    migration_dir: &Path,
    spec: &NewRevision<'_>,
    now: SystemTime,
) -> Result<PathBuf, ScaffoldError> {
    let mut files = vec![("up.sql", UP_TEMPLATE)];
    if spec.with_down {
        files.push(("down.sql", DOWN_TEMPLATE));
    }
    if spec.no_transaction {
        files.push(("metadata.toml", NO_TRANSACTION_METADATA));
    }
    write_revision(migration_dir, spec.message, spec.version, &files, now)
}

/// Create `<dir>/<version>_<slug>/` holding `files` (name, contents), as
/// `dmig revision` and `revision --autogenerate` write them. Returns the new
/// directory; nothing already there is ever overwritten.
///
/// The version is `version` when given (it must be free), else the UTC time
/// as `%Y-%m-%d-%H%M%S`, as diesel CLI writes it. When a revision of that
/// second exists already, Diesel's subversion suffix follows (`-0000`,
/// `-0001`, ...), which sorts after it, so two revisions made in one second
/// neither collide nor swap places.
pub fn write_revision(
    migration_dir: &Path,
    message: &str,
    version: Option<&str>,
    files: &[(&str, &str)],
    now: SystemTime,
) -> Result<PathBuf, ScaffoldError> {
    let name = slug(message);
    if name.is_empty() {
        return Err(ScaffoldError::EmptyName {
            message: message.to_string(),
        });
    }
    let io_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ScaffoldError::Io { path, source }
    };
    fs::create_dir_all(migration_dir).map_err(io_err(migration_dir))?;
    let taken = existing_versions(migration_dir)?;
    let prefix = match version {
        Some(version) => {
            let checked = Version::from_dir_name(version);
            crate::source::validate_version(&checked).map_err(|reason| {
                ScaffoldError::InvalidVersion {
                    version: version.to_string(),
                    reason,
                }
            })?;
            if version.contains('_') || taken.contains(&checked) {
                return Err(ScaffoldError::VersionTaken {
                    version: version.to_string(),
                });
            }
            version.to_string()
        }
        None => free_prefix(&timestamp(now), &taken),
    };
    let dir = migration_dir.join(format!("{prefix}_{name}"));
    match fs::create_dir(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            return Err(ScaffoldError::Exists { path: dir })
        }
        Err(e) => return Err(io_err(&dir)(e)),
    }
    for (file, text) in files {
        let path = dir.join(file);
        fs::write(&path, text).map_err(io_err(&path))?;
    }
    Ok(dir)
}

/// The versions of the directories in `migration_dir` (by Diesel's rule on
/// their names; what is in them does not matter here).
fn existing_versions(migration_dir: &Path) -> Result<Vec<Version>, ScaffoldError> {
    let entries = fs::read_dir(migration_dir).map_err(|source| ScaffoldError::Io {
        path: migration_dir.to_path_buf(),
        source,
    })?;
    let mut versions = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| ScaffoldError::Io {
            path: migration_dir.to_path_buf(),
            source,
        })?;
        if let Some(name) = entry.file_name().to_str() {
            if crate::source::is_candidate(name) {
                versions.push(Version::from_dir_name(name));
            }
        }
    }
    Ok(versions)
}

/// `base`, or the first of `base-0000`, `base-0001`, ... whose version is free.
fn free_prefix(base: &str, taken: &[Version]) -> String {
    let is_free = |prefix: &str| !taken.contains(&Version::from_dir_name(prefix));
    if is_free(base) {
        return base.to_string();
    }
    (0..=9999)
        .map(|n| format!("{base}-{n:04}"))
        .find(|prefix| is_free(prefix))
        // Ten thousand revisions in one second: the next second is free.
        .unwrap_or_else(|| format!("{base}-9999-{}", taken.len()))
}

/// What `init` did to one path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InitAction {
    /// Created it.
    Created(PathBuf),
    /// It was there already and was left alone.
    Kept(PathBuf),
}

/// Create `diesel.toml`, a commented `dmig.toml` (every key commented out)
/// and `sql-out/` under `root`, and the migrations directory, where absent;
/// never overwrite.
pub fn init(root: &Path, migration_dir: &Path) -> Result<Vec<InitAction>, ScaffoldError> {
    let mut actions = Vec::new();
    for (name, text) in [
        (CONFIG_FILE_NAME, INIT_DIESEL_TOML),
        (
            crate::settings_file::FILE_NAME,
            crate::settings_file::REFERENCE,
        ),
    ] {
        actions.push(create_file(&root.join(name), text)?);
    }
    for path in [migration_dir.to_path_buf(), root.join("sql-out")] {
        if path.is_dir() {
            actions.push(InitAction::Kept(path));
        } else {
            fs::create_dir_all(&path).map_err(|source| ScaffoldError::Io {
                path: path.clone(),
                source,
            })?;
            actions.push(InitAction::Created(path));
        }
    }
    Ok(actions)
}

/// Write `text` to a new file at `path`; an existing one is kept as it is.
fn create_file(path: &Path, text: &str) -> Result<InitAction, ScaffoldError> {
    let io_error = |source| ScaffoldError::Io {
        path: path.to_path_buf(),
        source,
    };
    match fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
    {
        Ok(mut file) => {
            io::Write::write_all(&mut file, text.as_bytes()).map_err(io_error)?;
            Ok(InitAction::Created(path.to_path_buf()))
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            Ok(InitAction::Kept(path.to_path_buf()))
        }
        Err(source) => Err(io_error(source)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn slug_keeps_letters_and_digits() {
        assert_eq!(slug("create users"), "create_users");
        assert_eq!(slug("  Add index: users.email!! "), "add_index_users_email");
        assert_eq!(slug("ÄÖÜ"), "");
    }

    #[test]
    fn timestamp_matches_diesel_format_in_utc() {
        assert_eq!(timestamp(UNIX_EPOCH), "1970-01-01-000000");
        let t = UNIX_EPOCH + Duration::from_secs(1_709_210_096); // 2024-02-29T12:34:56Z
        assert_eq!(timestamp(t), "2024-02-29-123456");
    }

    fn spec(message: &str) -> NewRevision<'_> {
        NewRevision {
            message,
            version: None,
            no_transaction: false,
            with_down: true,
        }
    }

    #[test]
    fn new_revision_writes_files_and_never_overwrites() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let now = UNIX_EPOCH + Duration::from_secs(1_709_210_096);
        let first = NewRevision {
            no_transaction: true,
            ..spec("create users")
        };
        let dir = new_revision(tmp.path(), &first, now).expect("create");
        assert!(dir.ends_with("2024-02-29-123456_create_users"));
        assert_eq!(
            fs::read_to_string(dir.join("up.sql")).expect("up"),
            UP_TEMPLATE
        );
        assert_eq!(
            fs::read_to_string(dir.join("metadata.toml")).expect("metadata"),
            NO_TRANSACTION_METADATA
        );
        fs::write(dir.join("up.sql"), "CREATE TABLE users ();\n").expect("edit");
        // The same second again: the next free subversion, the first untouched.
        let again = new_revision(tmp.path(), &spec("create users"), now).expect("again");
        assert!(
            again.ends_with("2024-02-29-123456-0000_create_users"),
            "{again:?}"
        );
        assert_eq!(
            fs::read_to_string(dir.join("up.sql")).expect("up"),
            "CREATE TABLE users ();\n"
        );
    }

    #[test]
    fn revisions_of_one_second_get_diesels_subversions_in_order() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let now = UNIX_EPOCH + Duration::from_secs(1_709_210_096);
        for message in ["a", "b", "c"] {
            new_revision(tmp.path(), &spec(message), now).expect("create");
        }
        let found = crate::source::discover(tmp.path()).expect("discover");
        let names: Vec<_> = found.revisions.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "2024-02-29-123456_a",
                "2024-02-29-123456-0000_b",
                "2024-02-29-123456-0001_c"
            ]
        );
    }

    #[test]
    fn an_explicit_version_must_be_free_and_valid_and_no_down_means_no_file() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let now = UNIX_EPOCH;
        let chosen = NewRevision {
            version: Some("20240101000000"),
            with_down: false,
            ..spec("x")
        };
        let dir = new_revision(tmp.path(), &chosen, now).expect("create");
        assert!(dir.ends_with("20240101000000_x"));
        assert!(!dir.join("down.sql").exists());
        let taken = NewRevision {
            version: Some("2024-01-01-000000"),
            ..spec("y")
        };
        let err = new_revision(tmp.path(), &taken, now).expect_err("taken");
        assert_eq!(
            err.to_string(),
            "version `2024-01-01-000000` is taken by a revision in the migrations directory"
        );
        let bad = NewRevision {
            version: Some("2024'01"),
            ..spec("z")
        };
        assert!(new_revision(tmp.path(), &bad, now).is_err());
    }

    #[test]
    fn init_creates_missing_and_keeps_existing() {
        let tmp = tempfile::tempdir().expect("tempdir");
        fs::write(tmp.path().join(CONFIG_FILE_NAME), "# mine\n").expect("write");
        let actions = init(tmp.path(), &tmp.path().join("migrations")).expect("init");
        assert_eq!(
            actions[0],
            InitAction::Kept(tmp.path().join(CONFIG_FILE_NAME))
        );
        assert_eq!(
            actions[1],
            InitAction::Created(tmp.path().join(crate::settings_file::FILE_NAME))
        );
        assert_eq!(
            actions[2],
            InitAction::Created(tmp.path().join("migrations"))
        );
        assert_eq!(
            fs::read_to_string(tmp.path().join(CONFIG_FILE_NAME)).expect("read"),
            "# mine\n"
        );
    }
}
