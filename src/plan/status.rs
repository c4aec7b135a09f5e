//! Where each revision stands against the version table, computed once,
//! purely, from the revisions on disk and the rows of the table. `status`,
//! `check`, `current`, `history --online` and the library API all read it.

use crate::model::{Applied, Revision, RevisionState, Version};

/// One revision on disk and its state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry<'r> {
    /// The revision.
    pub revision: &'r Revision,
    /// Applied, pending, or pending out of order.
    pub state: RevisionState,
    /// `run_on` of its row, when applied.
    pub run_on: Option<String>,
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
    /// of the version table.
    pub fn new(revisions: &'r [Revision], mut applied: Vec<Applied>) -> Status<'r> {
        applied.sort_unstable_by(|a, b| a.version.cmp(&b.version));
        let newest_applied = newest(applied.iter().map(|a| a.version.as_str()));
        let entries = revisions
            .iter()
            .map(|revision| {
                let row = applied
                    .binary_search_by(|a| a.version.cmp(&revision.version))
                    .ok()
                    .map(|i| &applied[i]);
                let state = match row {
                    Some(_) => RevisionState::Applied,
                    None if is_out_of_order(revision, newest_applied) => RevisionState::OutOfOrder,
                    None => RevisionState::Pending,
                };
                Entry {
                    revision,
                    state,
                    run_on: row.and_then(|a| a.run_on.clone()),
                }
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

    /// Nothing pending, out of order or missing on disk: what `check` passes.
    pub fn is_at_head(&self) -> bool {
        self.missing_on_disk.is_empty() && self.pending().next().is_none()
    }
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
}
