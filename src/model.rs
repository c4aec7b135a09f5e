//! The values every layer shares: versions, revisions, directions, applied
//! rows and revision states. Plain data; no I/O beyond reading a revision's
//! own files ([`Revision::read_sql`]).

use std::borrow::Cow;
use std::fmt;
use std::path::PathBuf;

/// A Diesel version: the directory name up to its first `_`, every `-`
/// removed (`2024-01-01-120000_create_users` → `20240101120000`). Versions
/// order as strings, as Diesel orders them.
///
/// A version read from disk is checked ([`crate::source`]) to be ASCII letters
/// and digits, so it is safe inside SQL literals and comments; one read from
/// a database may hold anything, which is why [`fmt::Display`] replaces
/// control characters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Version(String);

impl Version {
    /// Diesel's rule, applied to a revision directory name.
    pub fn from_dir_name(name: &str) -> Version {
        Version(name.split('_').next().unwrap_or(name).replace('-', ""))
    }

    /// A version as stored in the version table, taken as it is.
    pub fn from_row(text: String) -> Version {
        Version(text)
    }

    /// The version as text, for SQL literals and comparisons.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Version {
    /// Printable (see [`printable`]); honours width and alignment.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&printable(&self.0))
    }
}

impl std::borrow::Borrow<str> for Version {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for Version {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for Version {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

/// Text made safe to print on one line or inside a `--` comment: control
/// characters (a newline would end the comment and turn the rest into SQL, an
/// escape sequence would drive the terminal) become `?`.
pub fn printable(text: &str) -> Cow<'_, str> {
    if text.chars().any(char::is_control) {
        Cow::Owned(
            text.chars()
                .map(|c| if c.is_control() { '?' } else { c })
                .collect(),
        )
    } else {
        Cow::Borrowed(text)
    }
}

/// [`printable`] for text of several lines (a server's message and detail,
/// an error report): newlines and tabs stay, other control characters
/// become `?`.
pub fn printable_lines(text: &str) -> Cow<'_, str> {
    let unsafe_char = |c: char| c.is_control() && c != '\n' && c != '\t';
    if text.chars().any(unsafe_char) {
        Cow::Owned(
            text.chars()
                .map(|c| if unsafe_char(c) { '?' } else { c })
                .collect(),
        )
    } else {
        Cow::Borrowed(text)
    }
}

/// Which way a step goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Run `up.sql`, insert the version row.
    Up,
    /// Run `down.sql`, delete the version row.
    Down,
}

impl Direction {
    /// The file a step in this direction runs.
    pub fn file(self) -> SqlFile {
        match self {
            Direction::Up => SqlFile::Up,
            Direction::Down => SqlFile::Down,
        }
    }

    /// `upgrade` or `downgrade`, as in messages and script comments.
    pub fn noun(self) -> &'static str {
        match self {
            Direction::Up => "upgrade",
            Direction::Down => "downgrade",
        }
    }

    /// `applied` or `reverted`.
    pub fn past(self) -> &'static str {
        match self {
            Direction::Up => "applied",
            Direction::Down => "reverted",
        }
    }
}

/// Which of a revision's two SQL files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqlFile {
    /// `up.sql`.
    Up,
    /// `down.sql`.
    Down,
}

impl SqlFile {
    /// The file name inside a revision directory.
    pub fn file_name(self) -> &'static str {
        match self {
            SqlFile::Up => "up.sql",
            SqlFile::Down => "down.sql",
        }
    }
}

/// Where a revision's SQL lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqlSource {
    /// A file on disk, read when needed.
    File(PathBuf),
    /// Text compiled into the binary (see [`crate::embed`]).
    Embedded(&'static str),
}

/// One revision: a `<version>_<name>` directory (or its embedded copy).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revision {
    /// The version derived from the directory name.
    pub version: Version,
    /// The whole directory name, e.g. `2024-01-01-120000_create_users`.
    pub name: String,
    /// `up.sql`.
    pub up: SqlSource,
    /// `down.sql`, when present.
    pub down: Option<SqlSource>,
    /// From `metadata.toml`; `true` when the file is absent.
    pub run_in_transaction: bool,
}

impl Revision {
    /// The source of `file`, if the revision has it.
    pub fn source(&self, file: SqlFile) -> Option<&SqlSource> {
        match file {
            SqlFile::Up => Some(&self.up),
            SqlFile::Down => self.down.as_ref(),
        }
    }

    /// The path (or embedded name) used in messages, e.g. `migrations/2024_x/up.sql`.
    pub fn display_path(&self, file: SqlFile) -> PathBuf {
        match self.source(file) {
            Some(SqlSource::File(path)) => path.clone(),
            _ => PathBuf::from(&self.name).join(file.file_name()),
        }
    }

    /// The directory name, safe to print (see [`printable`]).
    pub fn printable_name(&self) -> Cow<'_, str> {
        printable(&self.name)
    }
}

/// One row of the version table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// The version.
    pub version: Version,
    /// When it was applied (`run_on`, as PostgreSQL prints a timestamp);
    /// `None` when the row does not say (a NULL in a table altered by hand,
    /// or a table without the column).
    pub run_on: Option<String>,
}

/// The SHA-256 of a revision's files as dmig's companion table records
/// them: lowercase hex of each file's bytes, a leading UTF-8 byte order mark
/// left out (dmig never sends it, see [`crate::source::checksum`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checksums {
    /// Of `up.sql`.
    pub up: String,
    /// Of `down.sql`, when the revision has one.
    pub down: Option<String>,
}

/// A row of dmig's companion table (`__dmig_revisions`): what dmig recorded
/// when it applied (or stamped) a version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// The version.
    pub version: Version,
    /// `up.sql`'s SHA-256 when it was applied.
    pub up_sha256: String,
    /// `down.sql`'s, when there was one.
    pub down_sha256: Option<String>,
}

/// Where a revision on disk stands against the version table (and, when
/// it was consulted, dmig's companion table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevisionState {
    /// Its version is in the table (and, when checksums were compared, its
    /// `up.sql` is the one that was applied).
    Applied,
    /// Applied, but its `up.sql` is not the file that was applied: the
    /// checksum dmig recorded differs from the file's (`check` fails).
    Changed,
    /// Applied, with nothing recorded to compare against: applied by
    /// another tool (diesel CLI, an older dmig) or with checksums off.
    Unverified,
    /// Its version is not in the table.
    Pending,
    /// Pending, but older than the newest applied version: an upgrade
    /// applies it (with a warning; `--strict` refuses).
    OutOfOrder,
}

impl RevisionState {
    /// Whether an upgrade to head would apply it.
    pub fn is_pending(self) -> bool {
        matches!(self, RevisionState::Pending | RevisionState::OutOfOrder)
    }

    /// Whether its version is in the table.
    pub fn is_applied(self) -> bool {
        !self.is_pending()
    }

    /// Whether its version is in the table: `applied` or `pending`, the
    /// word the JSON `state` shows (an out-of-order revision is pending,
    /// flagged beside it; a changed or unverified one is applied, with its
    /// `checksum` beside it).
    pub fn as_str(self) -> &'static str {
        if self.is_pending() {
            "pending"
        } else {
            "applied"
        }
    }

    /// The word a listing shows: `applied`, `changed`, `unverified` or
    /// `pending`.
    pub fn word(self) -> &'static str {
        match self {
            RevisionState::Applied => "applied",
            RevisionState::Changed => "changed",
            RevisionState::Unverified => "unverified",
            RevisionState::Pending | RevisionState::OutOfOrder => "pending",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_strips_dashes_up_to_first_underscore() {
        let v = |name: &str| Version::from_dir_name(name).as_str().to_owned();
        assert_eq!(v("2024-01-01-120000_create_users"), "20240101120000");
        assert_eq!(v("20170318181441_x_y"), "20170318181441");
        assert_eq!(v("2024-01-01-120000-0000_x"), "202401011200000000");
        assert_eq!(v("00000000000000_diesel_initial_setup"), "00000000000000");
        assert_eq!(v("2024-01-02"), "20240102");
    }

    #[test]
    fn versions_from_the_database_print_without_control_characters() {
        let v = Version::from_row("1\n\x1b[2J".to_owned());
        assert_eq!(v.to_string(), "1??[2J");
        assert_eq!(v.as_str(), "1\n\x1b[2J");
        assert_eq!(
            format!("{:8}|", Version::from_row("12".into())),
            "12      |"
        );
    }

    #[test]
    fn printable_lines_keeps_newlines_and_tabs_only() {
        assert_eq!(printable_lines("a\n\tb"), "a\n\tb");
        assert_eq!(printable_lines("t\x1b[2J\r\x07"), "t?[2J??");
        assert!(matches!(printable_lines("plain\n"), Cow::Borrowed(_)));
    }

    #[test]
    fn printable_replaces_control_characters_only() {
        assert_eq!(printable("1_a\nDROP TABLE x;"), "1_a?DROP TABLE x;");
        assert!(matches!(printable("1_plain name é"), Cow::Borrowed(_)));
    }
}
