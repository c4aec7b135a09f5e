//! What makes a script guarded (the default for `--sql`): safe to hand to a
//! DBA who runs it days later on a database that may have moved on. Around
//! the steps [`super::script`] writes, a guarded script
//!
//! - sets `ON_ERROR_STOP` itself, so a failed revision is never recorded;
//! - takes the migration lock online runs take, for at most `--lock-wait`;
//! - looks the version table up once, as online runs do, and names it by
//!   schema in every statement (creating it only where none is visible);
//! - refuses, before the first revision, a database it cannot bring from
//!   FROM to TO, naming what it found;
//! - skips each revision whose version row is already there (or, going
//!   down, already gone), with a line saying so: a re-run resumes where a
//!   failed run stopped, and a second run changes nothing.
//!
//! The SQL of each piece comes from [`crate::dialect::psql`].

use std::io::{self, Write};
use std::time::Duration;

use crate::dialect::postgres::Postgres;
use crate::dialect::psql::{self, Expectations};
use crate::dialect::{Dialect, VersionTable, VERSION_TABLE};
use crate::model::{printable, Direction, Revision, Version};
use crate::plan::{Kind, Plan, Position, Purge, Step};

/// How a guarded script guards: the lock wait and what it expects of the
/// database, taken from the revisions the plan was made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guard {
    /// How long the script waits for another migrator's lock.
    pub lock_wait: Duration,
    /// Versions that must be applied before the first step: an upgrade's
    /// (or stamp's) revisions below FROM, a redo's below TO.
    must_be_applied: Vec<Version>,
    /// Applied versions newer than this are refused (`None`: base, so any)
    /// unless listed in `known_newer`: an upgrade's TO, a downgrade's FROM.
    ceiling: Option<Version>,
    /// Revisions on disk newer than an upgrade's TO.
    known_newer: Vec<Version>,
    /// A stamp with `--purge` deletes the rows no revision on disk
    /// provides: only these versions (all on disk) count as newer.
    purged_but: Option<Vec<Version>>,
    /// The direction the range goes.
    up: bool,
    kind: Kind,
    from: Position,
    to: Position,
}

impl Guard {
    /// The guard of `plan`, made from `revisions` (sorted, as
    /// [`crate::source::discover`] returns them) with [`crate::plan::plan_range`].
    pub fn new(revisions: &[Revision], plan: &Plan<'_>, lock_wait: Duration) -> Guard {
        let index = |position: &Position| match position {
            Position::Base => 0,
            Position::At(version) => revisions
                .binary_search_by(|r| r.version.cmp(version))
                .map_or(0, |i| i + 1),
        };
        let (from, to) = (index(&plan.from), index(&plan.to));
        let versions = |range: &[Revision]| -> Vec<Version> {
            range.iter().map(|r| r.version.clone()).collect()
        };
        let up = match plan.kind {
            Kind::Upgrade => true,
            Kind::Stamp => from <= to,
            Kind::Downgrade | Kind::Redo => false,
        };
        let (must_be_applied, ceiling, known_newer) = match (plan.kind, up) {
            (_, true) => (
                versions(&revisions[..from]),
                plan.to.version().cloned(),
                versions(&revisions[to..]),
            ),
            (Kind::Redo, _) => (
                versions(&revisions[..to]),
                plan.from.version().cloned(),
                Vec::new(),
            ),
            _ => (Vec::new(), plan.from.version().cloned(), Vec::new()),
        };
        let purged_but = match &plan.purge {
            Some(Purge::AllBut(on_disk)) => Some(on_disk.clone()),
            _ => None,
        };
        Guard {
            lock_wait,
            must_be_applied,
            ceiling,
            known_newer,
            purged_but,
            up,
            kind: plan.kind,
            from: plan.from.clone(),
            to: plan.to.clone(),
        }
    }

    /// The comment lines under the first line of the header.
    pub(super) fn header(&self, out: &mut dyn Write) -> io::Result<()> {
        let skips = match (self.kind, self.up) {
            (Kind::Redo, _) => {
                "It skips each revert and each apply already done: run again after a failure, it\n\
                 --   resumes at the failed revision (run again after it finished, it redoes them)."
            }
            (Kind::Stamp, _) => {
                "It writes only the version rows missing (or deletes only those still there): run\n\
                 --   twice, the second run changes nothing."
            }
            (_, true) => {
                "It skips each revision already applied: run again after a failure, it resumes at\n\
                 --   the failed revision; run twice, the second run changes nothing."
            }
            (_, false) => {
                "It skips each revision already reverted: run again after a failure, it resumes at\n\
                 --   the failed revision; run twice, the second run changes nothing."
            }
        };
        writeln!(
            out,
            "-- A guarded script for psql 10 or newer: psql -f <this file>\n\
             -- - It stops at the first error: it sets ON_ERROR_STOP itself.\n\
             -- - It takes the migration lock online dmig runs take (advisory lock {}),\n\
             --   waiting at most {} s for another migrator, and releases it at the end.\n\
             -- - Before changing anything, it checks that the database can go from {} to {},\n\
             --   and refuses, naming what it found, when not.\n\
             -- - {skips}\n\
             -- For tools other than psql, render with --plain.",
            crate::dialect::postgres::LOCK_KEY,
            self.lock_wait.as_secs(),
            self.from,
            self.to,
        )
    }

    /// The psql settings, right after the header.
    pub(super) fn psql_settings(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "{}\n", psql::PSQL_SETTINGS)
    }

    /// The migration lock, after Diesel's session settings.
    pub(super) fn lock(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(
            out,
            "-- The migration lock, as online runs take it: polled, so that waiting holds no snapshot a\n\
             -- concurrent CREATE INDEX CONCURRENTLY would wait for; released at the end of the script\n\
             -- (or when the session ends).\n{}\n",
            psql::lock(self.lock_wait)
        )
    }

    /// Find the version table (or, where none is visible and the script
    /// writes rows, create it; a script that only deletes rows has nothing to
    /// do then and ends) and check the database against what the script
    /// expects.
    pub(super) fn prepare(&self, plan: &Plan<'_>, out: &mut dyn Write) -> io::Result<()> {
        let table = psql::version_table();
        writeln!(
            out,
            "-- The version table: the {VERSION_TABLE} the server resolves on the search_path, used\n\
             -- schema-qualified from here on; two of them on the search_path are refused.\n\
             {}\n{}\n{}",
            psql::find_version_table(),
            psql::refuse_if_set(),
            psql::SAVE_SEARCH_PATH,
        )?;
        writeln!(
            out,
            "-- What the script expects of the database before its first revision.\n\\if :{{?{}}}\n{}\n{}",
            psql::SCHEMA_VARIABLE,
            psql::check(&self.expectations(), &table),
            psql::refuse_if_set()
        )?;
        out.write_all(b"\\else\n")?;
        if !self.must_be_applied.is_empty() {
            writeln!(
                out,
                "{}",
                psql::refuse(&format!(
                    "{}, but the database has no {VERSION_TABLE} on the search_path",
                    self.needs_applied()
                ))
            )?;
        }
        let writes_rows = plan.steps.iter().any(|s| s.direction == Direction::Up);
        if writes_rows {
            writeln!(
                out,
                "{}\n{}",
                Postgres.create_version_table(),
                psql::locate_created_table()
            )?;
        } else {
            writeln!(
                out,
                "{}\n{}\n\\q",
                psql::echo(&format!(
                    "nothing to do: no {VERSION_TABLE} on the search_path, so nothing of this script is applied"
                )),
                psql::unlock()
            )?;
        }
        out.write_all(b"\\endif\n\n")
    }

    fn needs_applied(&self) -> String {
        match self.kind {
            Kind::Redo => format!(
                "this script redoes the revisions above {} and needs every revision up to it applied",
                self.to
            ),
            _ => format!(
                "this script starts at {} and needs every revision up to it applied",
                self.from
            ),
        }
    }

    fn expectations(&self) -> Expectations<'_> {
        let newer = if self.up {
            format!(
                "the database has applied versions newer than {} that this script does not know \
                 (rendered from an older migrations directory?), render it again; found ",
                self.to
            )
        } else {
            let verb = match self.kind {
                Kind::Redo => "redoes revisions",
                Kind::Stamp => "unstamps",
                _ => "reverts",
            };
            format!(
                "this script {verb} from {} down, but the database has newer versions applied \
                 that it cannot revert first; render it from the version the database is at; found ",
                self.from
            )
        };
        let applied = format!("{}; not applied: ", self.needs_applied());
        Expectations {
            applied: (&self.must_be_applied, applied),
            ceiling: self.ceiling.as_ref(),
            known: &self.known_newer,
            among: self.purged_but.as_deref(),
            newer,
        }
    }

    /// Open a step's guard: the check and the skipping branch.
    pub(super) fn open_step(
        &self,
        step: &Step<'_>,
        index: usize,
        table: &VersionTable,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        let up = step.direction == Direction::Up;
        let (what, why) = match (self.kind, up) {
            (Kind::Stamp, true) => ("stamp", "already recorded"),
            (Kind::Stamp, false) => ("unstamp", "not recorded"),
            (_, true) => ("upgrade", "already applied"),
            (_, false) => ("downgrade", "not applied"),
        };
        let skip = psql::echo(&format!(
            "skipping {what} {} ({}): {why}",
            step.revision.version,
            printable(&step.revision.name)
        ));
        if self.skips_read_first() {
            writeln!(out, "\\if :dmig_skip_{index}\n{skip}\n\\else")
        } else {
            writeln!(
                out,
                "{}\n\\if :dmig_skip\n{skip}\n\\else",
                psql::skip_when(table, &step.revision.version, up),
            )
        }
    }

    /// Whether the skips are read once before the first revision
    /// ([`Guard::read_skips`]): not for a redo, whose ups follow its downs
    /// of the same versions and must look after them.
    fn skips_read_first(&self) -> bool {
        self.kind != Kind::Redo
    }

    /// Read every step's skip at once, under the lock, before the first
    /// revision (see [`psql::skips`]); nothing for a redo, which asks step
    /// by step.
    pub(super) fn read_skips(
        &self,
        plan: &Plan<'_>,
        table: &VersionTable,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        if !self.skips_read_first() || plan.steps.is_empty() {
            return Ok(());
        }
        let steps: Vec<(usize, &Version, bool)> = plan
            .steps
            .iter()
            .enumerate()
            .map(|(index, step)| {
                (
                    index,
                    &step.revision.version,
                    step.direction == Direction::Up,
                )
            })
            .collect();
        out.write_all(b"-- Which revisions are already done, read once under the lock.\n")?;
        for query in psql::skips(table, &steps) {
            writeln!(out, "{query}")?;
        }
        out.write_all(b"\n")
    }

    /// Close a step's guard.
    pub(super) fn close_step(&self, out: &mut dyn Write) -> io::Result<()> {
        out.write_all(b"\\endif\n")
    }

    /// Release the lock at the end.
    pub(super) fn unlock(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "{}", psql::unlock())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SqlSource;
    use crate::plan::{plan_range, Range, TransactionMode};

    fn revisions() -> Vec<Revision> {
        (1..=5)
            .map(|i| Revision {
                version: Version::from_dir_name(&format!("{i}_r")),
                name: format!("{i}_r"),
                up: SqlSource::Embedded("select 1;"),
                down: Some(SqlSource::Embedded("select 1;")),
                run_in_transaction: true,
            })
            .collect()
    }

    fn guard(kind: Kind, range: &str) -> Guard {
        let revisions = revisions();
        let range = Range::parse_for(kind, range).expect("range");
        let plan =
            plan_range(&revisions, kind, &range, TransactionMode::PerRevision).expect("plan");
        Guard::new(&revisions, &plan, Duration::from_secs(1))
    }

    fn versions(list: &[Version]) -> Vec<&str> {
        list.iter().map(Version::as_str).collect()
    }

    #[test]
    fn an_upgrade_needs_what_is_below_from_and_knows_what_is_above_to() {
        let g = guard(Kind::Upgrade, "2:4");
        assert_eq!(versions(&g.must_be_applied), ["1", "2"]);
        assert_eq!(g.ceiling.as_ref().map(Version::as_str), Some("4"));
        assert_eq!(versions(&g.known_newer), ["5"]);
    }

    #[test]
    fn a_downgrade_refuses_anything_newer_than_from() {
        let g = guard(Kind::Downgrade, "3:base");
        assert!(g.must_be_applied.is_empty());
        assert_eq!(g.ceiling.as_ref().map(Version::as_str), Some("3"));
        assert!(g.known_newer.is_empty());
        let redo = guard(Kind::Redo, "head:-2");
        assert_eq!(versions(&redo.must_be_applied), ["1", "2", "3"]);
        assert_eq!(redo.ceiling.as_ref().map(Version::as_str), Some("5"));
    }
}
