//! Where each revision stands against the version table, computed once,
//! purely, from the revisions on disk and the rows of the table. `status`,
//! `check`, `current`, `history --online` and the library API all read it.
//!
//! With the rows of dmig's companion table, an applied revision is also
//! checked against what was recorded when it was applied: `changed` when
//! its `up.sql` is no longer that file, `unverified` when nothing was
//! recorded. Companion rows without a version row (left by a revert another
//! tool did) are ignored.

use crate::model::{Applied, Recorded, Revision, RevisionState, SqlFile, Version};

/// One revision on disk and its state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry<'r> {
    /// The revision.
    pub revision: &'r Revision,
    /// Applied, pending, or pending out of order.
    pub state: RevisionState,
    /// `run_on` of its row, when applied.
    pub run_on: Option<String>,
    /// `up.sql`'s checksum recorded when it was applied, if dmig recorded one.
    pub recorded_up_sha256: Option<String>,
    /// `up.sql`'s checksum now, when it was compared with a recorded one
    /// (`None` also when the file could not be read, which counts as changed).
    pub up_sha256: Option<String>,
}

/// The revisions on disk against the version table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status<'r> {
    /// Every revision on disk, oldest first.
    pub entries: Vec<Entry<'r>>,
    /// Rows of the version table with no directory on disk, oldest first.
    pub missing_on_disk: Vec<Applied>,
    /// The newest applied version (on disk or not), if any.
    pub current: Option<Version>,
    /// The newest version on disk, if any.
    pub head: Option<Version>,
}

impl<'r> Status<'r> {
    /// Compare `revisions` (sorted, as discovery returns them) with the rows
    /// of the version table, checksums not consulted.
    pub fn new(revisions: &'r [Revision], applied: Vec<Applied>) -> Status<'r> {
        Status::with_recorded(revisions, applied, None)
    }

    /// [`Status::new`], and applied revisions checked against `recorded`,
    /// the companion table's rows: `Some` of no rows when the table does not
    /// exist (every applied revision is then unverified), `None` to leave
    /// checksums out (applied revisions stay `applied`).
    pub fn with_recorded(
        revisions: &'r [Revision],
        mut applied: Vec<Applied>,
        recorded: Option<Vec<Recorded>>,
    ) -> Status<'r> {
        let recorded = recorded.map(|mut rows| {
            rows.sort_unstable_by(|a, b| a.version.cmp(&b.version));
            rows
        });
        applied.sort_unstable_by(|a, b| a.version.cmp(&b.version));
        let newest_applied = newest(applied.iter().map(|a| a.version.as_str()));
        let entries = revisions
            .iter()
            .map(|revision| {
                let row = applied
                    .binary_search_by(|a| a.version.cmp(&revision.version))
                    .ok()
                    .map(|i| &applied[i]);
                let mut entry = Entry {
                    revision,
                    state: match row {
                        Some(_) => RevisionState::Applied,
                        None if is_out_of_order(revision, newest_applied) => {
                            RevisionState::OutOfOrder
                        }
                        None => RevisionState::Pending,
                    },
                    run_on: row.and_then(|a| a.run_on.clone()),
                    recorded_up_sha256: None,
                    up_sha256: None,
                };
                if let (Some(_), Some(rows)) = (row, &recorded) {
                    verify(&mut entry, rows);
                }
                entry
            })
            .collect();
        let current = applied.last().map(|a| a.version.clone());
        let on_disk = |a: &Applied| {
            revisions
                .binary_search_by(|r| r.version.cmp(&a.version))
                .is_ok()
        };
        let missing_on_disk = applied.into_iter().filter(|a| !on_disk(a)).collect();
        Status {
            entries,
            missing_on_disk,
            current,
            head: revisions.last().map(|r| r.version.clone()),
        }
    }

    /// Revisions an upgrade to head would apply, oldest first.
    pub fn pending(&self) -> impl Iterator<Item = &Entry<'r>> {
        self.entries.iter().filter(|e| e.state.is_pending())
    }

    /// Pending revisions older than the newest applied one.
    pub fn out_of_order(&self) -> impl Iterator<Item = &Entry<'r>> {
        self.entries
            .iter()
            .filter(|e| e.state == RevisionState::OutOfOrder)
    }

    /// Applied revisions whose `up.sql` changed since they were applied.
    pub fn changed(&self) -> impl Iterator<Item = &Entry<'r>> {
        self.entries
            .iter()
            .filter(|e| e.state == RevisionState::Changed)
    }

    /// Applied revisions with nothing recorded to verify them by.
    pub fn unverified(&self) -> impl Iterator<Item = &Entry<'r>> {
        self.entries
            .iter()
            .filter(|e| e.state == RevisionState::Unverified)
    }

    /// Nothing pending, out of order or missing on disk (whether files
    /// changed is [`Status::changed`]'s to say).
    pub fn is_at_head(&self) -> bool {
        self.missing_on_disk.is_empty() && self.pending().next().is_none()
    }

    /// At head and no applied file changed: what `check` passes.
    pub fn is_ok(&self) -> bool {
        self.is_at_head() && self.changed().next().is_none()
    }
}

/// Check an applied `entry` against the companion rows `recorded` (sorted).
fn verify(entry: &mut Entry<'_>, recorded: &[Recorded]) {
    let revision = entry.revision;
    let Ok(index) = recorded.binary_search_by(|r| r.version.cmp(&revision.version)) else {
        entry.state = RevisionState::Unverified;
        return;
    };
    let now = revision.checksum(SqlFile::Up).ok().flatten();
    entry.state = if now.as_deref() == Some(recorded[index].up_sha256.as_str()) {
        RevisionState::Applied
    } else {
        RevisionState::Changed
    };
    entry.recorded_up_sha256 = Some(recorded[index].up_sha256.clone());
    entry.up_sha256 = now;
}

/// The newest of `versions` (`""` when there are none), by Diesel's string order.
pub fn newest<'a>(versions: impl Iterator<Item = &'a str>) -> &'a str {
    versions.max().unwrap_or("")
}

/// Whether a pending `revision` is older than the newest applied version.
pub fn is_out_of_order(revision: &Revision, newest_applied: &str) -> bool {
    revision.version.as_str() < newest_applied
}

/// The applied versions that no revision on disk provides, sorted.
/// `revisions` must be sorted.
pub fn missing_on_disk<'a>(
    revisions: &[Revision],
    applied: impl Iterator<Item = &'a str>,
) -> Vec<&'a str> {
    let mut missing: Vec<&str> = applied
        .filter(|v| {
            revisions
                .binary_search_by(|r| r.version.as_str().cmp(v))
                .is_err()
        })
        .collect();
    missing.sort_unstable();
    missing
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SqlSource;

    fn revs(names: &[&str]) -> Vec<Revision> {
        names
            .iter()
            .map(|name| Revision {
                version: Version::from_dir_name(name),
                name: name.to_string(),
                up: SqlSource::Embedded("select 1;"),
                down: None,
                run_in_transaction: true,
            })
            .collect()
    }

    fn rows(versions: &[&str]) -> Vec<Applied> {
        versions
            .iter()
            .map(|v| Applied {
                version: Version::from_row(v.to_string()),
                run_on: Some(format!("run {v}")),
            })
            .collect()
    }

    #[test]
    fn states_current_head_and_missing() {
        let revisions = revs(&["1_a", "2_b", "3_c", "4_d"]);
        let status = Status::new(&revisions, rows(&["3", "1", "9"]));
        let states: Vec<_> = status.entries.iter().map(|e| e.state).collect();
        assert_eq!(
            states,
            [
                RevisionState::Applied,
                RevisionState::OutOfOrder,
                RevisionState::Applied,
                RevisionState::OutOfOrder
            ]
        );
        assert_eq!(status.entries[0].run_on.as_deref(), Some("run 1"));
        assert_eq!(status.current.as_ref().map(Version::as_str), Some("9"));
        assert_eq!(status.head.as_ref().map(Version::as_str), Some("4"));
        let missing: Vec<_> = status
            .missing_on_disk
            .iter()
            .map(|a| a.version.as_str())
            .collect();
        assert_eq!(missing, ["9"]);
        assert_eq!(status.pending().count(), 2);
        assert!(!status.is_at_head());
    }

    #[test]
    fn at_head_means_nothing_pending_and_nothing_missing() {
        let revisions = revs(&["1_a", "2_b"]);
        assert!(Status::new(&revisions, rows(&["1", "2"])).is_at_head());
        let status = Status::new(&revisions, rows(&["1"]));
        assert_eq!(status.entries[1].state, RevisionState::Pending);
        assert_eq!(status.out_of_order().count(), 0);
        assert!(!status.is_at_head());
        assert!(Status::new(&[], Vec::new()).is_at_head());
    }

    fn recorded(version: &str, up: &str) -> Recorded {
        Recorded {
            version: Version::from_row(version.to_owned()),
            up_sha256: crate::source::checksum::sha256_hex(up.as_bytes()),
            down_sha256: None,
        }
    }

    #[test]
    fn applied_revisions_are_checked_against_the_recorded_checksums() {
        let revisions = revs(&["1_a", "2_b", "3_c", "4_d"]);
        let companion = vec![
            recorded("2", "select 2;"),
            recorded("1", "select 1;"),
            // A revert by another tool left this one: ignored.
            recorded("4", "select 1;"),
        ];
        let status = Status::with_recorded(&revisions, rows(&["1", "2", "3"]), Some(companion));
        let states: Vec<_> = status.entries.iter().map(|e| e.state).collect();
        assert_eq!(
            states,
            [
                RevisionState::Applied,
                RevisionState::Changed,
                RevisionState::Unverified,
                RevisionState::Pending
            ]
        );
        assert_eq!(status.entries[1].up_sha256, status.entries[0].up_sha256);
        assert_ne!(
            status.entries[1].recorded_up_sha256,
            status.entries[1].up_sha256
        );
        assert_eq!(status.pending().count(), 1);
        assert!(!status.is_ok());
        assert_eq!(status.changed().count(), 1);
        assert_eq!(status.unverified().count(), 1);

        // No companion table: everything applied is unverified, and fine.
        let status = Status::with_recorded(&revisions[..2], rows(&["1", "2"]), Some(Vec::new()));
        assert_eq!(status.unverified().count(), 2);
        assert!(status.is_ok());
        // Checksums left out: applied stays applied.
        let status = Status::new(&revisions[..2], rows(&["1", "2"]));
        assert!(status
            .entries
            .iter()
            .all(|e| e.state == RevisionState::Applied));
    }
}
