//! The JSON documents of `--format json`, as serde types: one per command,
//! each opening with `"dmig": 1`, the format version. Keys come out in the
//! order of the fields below and are never renamed or removed within a format
//! version; new keys may be added. The CLI only prints these.

use serde::Serialize;

use crate::model::{Applied, Revision, RevisionState, Version};
use crate::plan::Status;

/// The format version every document carries as `"dmig"`.
pub const FORMAT_VERSION: u32 = 1;

/// `dmig current --format json`.
#[derive(Debug, Clone, Serialize)]
pub struct CurrentReport {
    /// [`FORMAT_VERSION`].
    pub dmig: u32,
    /// The newest applied version; `null` at base.
    pub current: Option<Version>,
    /// Every row of the version table, oldest first.
    pub applied: Vec<AppliedRow>,
    /// The newest version on disk; `null` without revisions (or when the
    /// migrations directory could not be read).
    pub head: Option<Version>,
}

/// `dmig upgrade|downgrade|stamp|redo --format json`: what the run did.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// [`FORMAT_VERSION`].
    pub dmig: u32,
    /// `upgrade`, `downgrade`, `stamp` or `redo`.
    pub command: &'static str,
    /// Where the version table started: the newest applied version, `null` at base.
    pub from: Option<Version>,
    /// Where it ended (for a redo, the position it reverted to and came back from).
    pub to: Option<Version>,
    /// The steps done, in order.
    pub steps: Vec<StepRow>,
    /// Directory names of revisions applied although older than the newest applied one.
    pub out_of_order: Vec<String>,
    /// Rows `stamp --purge` deleted because no revision on disk provides them.
    pub purged: Vec<Version>,
    /// Rows no revision on disk provides that are still in the version
    /// table after the run (a stamp without `--purge` leaves them).
    pub missing_on_disk: Vec<Version>,
    /// How often the whole run (`--transaction single`) was rolled back
    /// after a lock timeout and tried again (`--retries`).
    pub run_retries: u32,
    /// The whole run, in milliseconds.
    pub duration_ms: f64,
}

/// One step in a [`RunReport`].
#[derive(Debug, Clone, Serialize)]
pub struct StepRow {
    /// The revision's version.
    pub version: Version,
    /// The revision's directory name.
    pub name: String,
    /// `up` (applied, or stamped) or `down` (reverted, or unstamped).
    pub direction: &'static str,
    /// How long it took, in milliseconds (0 for a stamp), its retries and
    /// their backoffs included.
    pub duration_ms: f64,
    /// How often it was rolled back after a lock timeout and tried again
    /// (`--retries`).
    pub retries: u32,
}

/// One row of the version table.
#[derive(Debug, Clone, Serialize)]
pub struct AppliedRow {
    /// The version.
    pub version: Version,
    /// When it was applied, as PostgreSQL prints a timestamp; `null` when
    /// the row does not say (a NULL `run_on`, or no such column).
    pub run_on: Option<String>,
}

/// `dmig status --format json` (and `history --online`).
#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    /// [`FORMAT_VERSION`].
    pub dmig: u32,
    /// The newest applied version; `null` at base.
    pub current: Option<Version>,
    /// The newest version on disk; `null` without revisions.
    pub head: Option<Version>,
    /// Every revision on disk, oldest first.
    pub revisions: Vec<RevisionRow>,
    /// Rows of the version table no directory on disk provides.
    pub missing_on_disk: Vec<AppliedRow>,
    /// Directory names of pending revisions older than the newest applied one.
    pub out_of_order: Vec<String>,
}

/// One revision in a [`StatusReport`].
#[derive(Debug, Clone, Serialize)]
pub struct RevisionRow {
    /// The version.
    pub version: Version,
    /// The directory name.
    pub name: String,
    /// `applied` or `pending` (an out-of-order revision is pending, and
    /// listed in `out_of_order`).
    #[serde(serialize_with = "state_word")]
    pub state: RevisionState,
    /// When it was applied; `null` when pending.
    pub run_on: Option<String>,
    /// Whether it runs in a transaction.
    pub run_in_transaction: bool,
    /// An applied revision against dmig's companion table: `verified` (its
    /// up.sql is the file that was applied), `changed` (it is not),
    /// `unverified` (nothing recorded: applied by another tool or without
    /// checksums); `null` when pending or when checksums were not read.
    pub checksum: Option<&'static str>,
    /// The SHA-256 of up.sql recorded when it was applied; `null` when none was.
    pub applied_up_sha256: Option<String>,
    /// The SHA-256 of up.sql on disk, when compared with a recorded one
    /// (`null` too when the file could not be read).
    pub up_sha256: Option<String>,
}

/// `dmig history --format json`: the revisions on disk.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryReport {
    /// [`FORMAT_VERSION`].
    pub dmig: u32,
    /// Newest first.
    pub revisions: Vec<HistoryRow>,
}

/// One revision in a [`HistoryReport`].
#[derive(Debug, Clone, Serialize)]
pub struct HistoryRow {
    /// The version.
    pub version: Version,
    /// The directory name.
    pub name: String,
    /// Whether it runs in a transaction.
    pub run_in_transaction: bool,
    /// Whether it has a `down.sql` that holds a statement (one that is only
    /// the template's comment does not count: `downgrade` refuses it).
    pub has_down: bool,
}

/// `dmig check --format json`.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    /// [`FORMAT_VERSION`].
    pub dmig: u32,
    /// Whether the database is at head: nothing pending, out of order,
    /// missing on disk or changed since applied (`check` exits 0).
    pub ok: bool,
    /// The newest applied version; `null` at base.
    pub current: Option<Version>,
    /// The newest version on disk.
    pub head: Option<Version>,
    /// Directory names of the pending revisions, oldest first.
    pub pending: Vec<String>,
    /// Applied versions no directory on disk provides.
    pub missing_on_disk: Vec<Version>,
    /// Directory names of pending revisions older than the newest applied one.
    pub out_of_order: Vec<String>,
    /// Directory names of applied revisions whose up.sql changed since
    /// (`check` fails).
    pub changed: Vec<String>,
    /// Directory names of applied revisions with no checksum recorded (no
    /// failure: applied by another tool or without checksums).
    pub unverified: Vec<String>,
    /// With `--schema`: schema.rs against the database; absent without it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema: Option<SchemaCheck>,
}

/// `check --schema`: the models against the database at head.
#[derive(Debug, Clone, Serialize)]
pub struct SchemaCheck {
    /// The schema files read.
    pub files: Vec<String>,
    /// What would bring the database to schema.rs, one line per operation
    /// as `revision --autogenerate` would write it (empty: they match);
    /// `null` when the database is not at head, so nothing was compared.
    pub differences: Option<Vec<String>>,
}

fn state_word<S: serde::Serializer>(state: &RevisionState, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(state.as_str())
}

/// The `checksum` word of an entry (see [`RevisionRow::checksum`]).
fn checksum_word(entry: &crate::plan::Entry<'_>) -> Option<&'static str> {
    match entry.state {
        RevisionState::Changed => Some("changed"),
        RevisionState::Unverified => Some("unverified"),
        RevisionState::Applied if entry.recorded_up_sha256.is_some() => Some("verified"),
        _ => None,
    }
}

impl From<&Applied> for AppliedRow {
    fn from(applied: &Applied) -> Self {
        AppliedRow {
            version: applied.version.clone(),
            run_on: applied.run_on.clone(),
        }
    }
}

impl CurrentReport {
    /// The report of the version table's rows (sorted by version), with the
    /// newest version on disk.
    pub fn new(applied: &[Applied], head: Option<&Version>) -> CurrentReport {
        CurrentReport {
            dmig: FORMAT_VERSION,
            current: applied.last().map(|a| a.version.clone()),
            applied: applied.iter().map(AppliedRow::from).collect(),
            head: head.cloned(),
        }
    }
}

impl StepRow {
    /// A step done in `direction`, taking `elapsed`.
    pub fn new(
        version: &Version,
        name: &str,
        direction: crate::model::Direction,
        elapsed: std::time::Duration,
    ) -> StepRow {
        StepRow {
            version: version.clone(),
            name: name.to_owned(),
            direction: match direction {
                crate::model::Direction::Up => "up",
                crate::model::Direction::Down => "down",
            },
            duration_ms: millis(elapsed),
            retries: 0,
        }
    }

    /// The same, after `retries` retries.
    pub fn with_retries(self, retries: u32) -> StepRow {
        StepRow { retries, ..self }
    }
}

/// `elapsed` in milliseconds, to the microsecond.
pub fn millis(elapsed: std::time::Duration) -> f64 {
    (elapsed.as_micros() as f64) / 1000.0
}

impl StatusReport {
    /// The report of `status`.
    pub fn new(status: &Status<'_>) -> StatusReport {
        StatusReport {
            dmig: FORMAT_VERSION,
            current: status.current.clone(),
            head: status.head.clone(),
            revisions: status
                .entries
                .iter()
                .map(|e| RevisionRow {
                    version: e.revision.version.clone(),
                    name: e.revision.name.clone(),
                    state: e.state,
                    run_on: e.run_on.clone(),
                    run_in_transaction: e.revision.run_in_transaction,
                    checksum: checksum_word(e),
                    applied_up_sha256: e.recorded_up_sha256.clone(),
                    up_sha256: e.up_sha256.clone(),
                })
                .collect(),
            missing_on_disk: status
                .missing_on_disk
                .iter()
                .map(AppliedRow::from)
                .collect(),
            out_of_order: status
                .out_of_order()
                .map(|e| e.revision.name.clone())
                .collect(),
        }
    }
}

impl HistoryReport {
    /// The report of the revisions on disk (sorted oldest first, as discovered).
    pub fn new(revisions: &[Revision]) -> HistoryReport {
        HistoryReport {
            dmig: FORMAT_VERSION,
            revisions: revisions
                .iter()
                .rev()
                .map(|r| HistoryRow {
                    version: r.version.clone(),
                    name: r.name.clone(),
                    run_in_transaction: r.run_in_transaction,
                    has_down: r.has_usable_down(),
                })
                .collect(),
        }
    }
}

impl CheckReport {
    /// The report of `check`.
    pub fn new(status: &Status<'_>) -> CheckReport {
        CheckReport {
            dmig: FORMAT_VERSION,
            ok: status.is_ok(),
            current: status.current.clone(),
            head: status.head.clone(),
            pending: status.pending().map(|e| e.revision.name.clone()).collect(),
            missing_on_disk: status
                .missing_on_disk
                .iter()
                .map(|a| a.version.clone())
                .collect(),
            out_of_order: status
                .out_of_order()
                .map(|e| e.revision.name.clone())
                .collect(),
            changed: status.changed().map(|e| e.revision.name.clone()).collect(),
            unverified: status
                .unverified()
                .map(|e| e.revision.name.clone())
                .collect(),
            schema: None,
        }
    }

    /// With the result of `--schema`: `files` read, `differences` found
    /// (`None`: not compared). `ok` then also needs them to match.
    pub fn with_schema(mut self, files: Vec<String>, differences: Option<Vec<String>>) -> Self {
        self.ok &= differences.as_ref().is_some_and(Vec::is_empty);
        self.schema = Some(SchemaCheck { files, differences });
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SqlSource;

    fn revisions() -> Vec<Revision> {
        [
            "2024-01-01-000000_a",
            "2024-01-02-000000_b",
            "2024-01-03-000000_c",
        ]
        .iter()
        .enumerate()
        .map(|(i, name)| Revision {
            version: Version::from_dir_name(name),
            name: name.to_string(),
            up: SqlSource::Embedded("select 1;"),
            down: (i != 1).then_some(SqlSource::Embedded("select 1;")),
            run_in_transaction: i != 2,
        })
        .collect()
    }

    fn applied() -> Vec<Applied> {
        ["20240102000000", "20240109000000"]
            .iter()
            .map(|v| Applied {
                version: Version::from_row(v.to_string()),
                run_on: Some("2024-11-25 19:00:00.123456".to_owned()),
            })
            .collect()
    }

    fn json(value: &impl Serialize) -> String {
        serde_json::to_string_pretty(value).expect("serialize")
    }

    #[test]
    fn current_shape() {
        let head = Version::from_row("20240109000000".into());
        insta::assert_snapshot!(json(&CurrentReport::new(&applied(), Some(&head))));
        insta::assert_snapshot!("current_at_base", json(&CurrentReport::new(&[], None)));
    }

    #[test]
    fn run_shape() {
        let report = RunReport {
            dmig: FORMAT_VERSION,
            command: "upgrade",
            from: None,
            to: Some(Version::from_row("20240102000000".into())),
            steps: vec![
                StepRow::new(
                    &Version::from_row("20240101000000".into()),
                    "2024-01-01-000000_a",
                    crate::model::Direction::Up,
                    std::time::Duration::from_micros(12_345),
                ),
                StepRow::new(
                    &Version::from_row("20240102000000".into()),
                    "2024-01-02-000000_b",
                    crate::model::Direction::Up,
                    std::time::Duration::from_millis(3),
                )
                .with_retries(2),
            ],
            out_of_order: Vec::new(),
            purged: Vec::new(),
            missing_on_disk: Vec::new(),
            run_retries: 0,
            duration_ms: 20.5,
        };
        insta::assert_snapshot!(json(&report));
    }

    #[test]
    fn status_shape() {
        let revisions = revisions();
        let status = Status::new(&revisions, applied());
        insta::assert_snapshot!(json(&StatusReport::new(&status)));
    }

    #[test]
    fn status_and_check_with_checksums_shape() {
        let revisions = revisions();
        let applied: Vec<Applied> = revisions
            .iter()
            .map(|r| Applied {
                version: r.version.clone(),
                run_on: Some("2024-11-25 19:00:00.123456".to_owned()),
            })
            .collect();
        let recorded = |version: &str, up: &str| crate::model::Recorded {
            version: Version::from_row(version.to_owned()),
            up_sha256: crate::source::checksum::sha256_hex(up.as_bytes()),
            down_sha256: None,
        };
        // a as applied, b edited since, c applied by another tool.
        let companion = vec![
            recorded("20240101000000", "select 1;"),
            recorded("20240102000000", "select 2;"),
        ];
        let status = Status::with_recorded(&revisions, applied, Some(companion));
        insta::assert_snapshot!(json(&StatusReport::new(&status)));
        let check = CheckReport::new(&status);
        assert!(!check.ok);
        insta::assert_snapshot!("check_with_checksums_shape", json(&check));
    }

    #[test]
    fn history_shape() {
        insta::assert_snapshot!(json(&HistoryReport::new(&revisions())));
    }

    #[test]
    fn check_shape() {
        let revisions = revisions();
        let status = Status::new(&revisions, applied());
        insta::assert_snapshot!(json(&CheckReport::new(&status)));
    }

    #[test]
    fn check_with_schema_shape() {
        let revisions = revisions();
        let applied: Vec<Applied> = revisions
            .iter()
            .map(|r| Applied {
                version: r.version.clone(),
                run_on: Some("2024-11-25 19:00:00.123456".to_owned()),
            })
            .collect();
        let status = Status::new(&revisions, applied);
        let differing = CheckReport::new(&status).with_schema(
            vec!["src/schema.rs".to_owned()],
            Some(vec!["Add column users.bio".to_owned()]),
        );
        assert!(!differing.ok);
        insta::assert_snapshot!(json(&differing));
        let matching = CheckReport::new(&status)
            .with_schema(vec!["src/schema.rs".to_owned()], Some(Vec::new()));
        assert!(matching.ok);
        let status = Status::new(&revisions, Vec::new());
        insta::assert_snapshot!(
            "check_with_schema_not_at_head",
            json(&CheckReport::new(&status).with_schema(vec!["src/schema.rs".to_owned()], None))
        );
    }
}
