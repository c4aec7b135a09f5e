//! The pure core's planner: targets, the one planner that both the online
//! and the offline sink consume, and the status of revisions against the
//! version table. Nothing here connects to a database or needs a runtime;
//! the planner reads the SQL files a plan needs, so that a bad file stops a
//! command before anything runs.

mod check;
pub mod status;
pub mod target;

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

pub use status::{Entry, Status};
pub use target::{Range, Target, TargetKind};

pub use crate::model::{Checksums, Direction, Revision, SqlFile, SqlSource, Version};
pub use crate::source::{discover, Discovery};

use crate::error::{PlanError, SourceError};

/// What the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Apply pending revisions up to the target.
    Upgrade,
    /// Revert applied revisions down to the target.
    Downgrade,
    /// Change the version table only, running no revision SQL.
    Stamp,
    /// Revert the applied revisions above the target, then apply them again
    /// (diesel's `migration redo`).
    Redo,
}

impl Kind {
    /// The command name, as in messages and output file names.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Upgrade => "upgrade",
            Kind::Downgrade => "downgrade",
            Kind::Stamp => "stamp",
            Kind::Redo => "redo",
        }
    }

    /// What a finished run did: `upgraded`, `downgraded`, `stamped`.
    pub fn past(self) -> &'static str {
        match self {
            Kind::Upgrade => "upgraded",
            Kind::Downgrade => "downgraded",
            Kind::Stamp => "stamped",
            Kind::Redo => "redid",
        }
    }

    /// What one step of it in `direction` did: `applied`, `reverted`,
    /// `stamped`, `unstamped`.
    pub fn step_past(self, direction: Direction) -> &'static str {
        match (self, direction) {
            (Kind::Stamp, Direction::Up) => "stamped",
            (Kind::Stamp, Direction::Down) => "unstamped",
            (_, direction) => direction.past(),
        }
    }
}

/// How revisions are grouped into transactions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TransactionMode {
    /// One transaction per revision, as Diesel runs them.
    #[default]
    PerRevision,
    /// One transaction around the whole run.
    Single,
}

/// A point in the revision order: nothing applied, or everything up to a version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Position {
    /// No revision applied.
    Base,
    /// Every revision up to and including this version.
    At(Version),
}

impl Position {
    /// The position below `index` revisions of `revisions` (0 = base).
    pub fn of(revisions: &[Revision], index: usize) -> Position {
        match index {
            0 => Position::Base,
            n => Position::At(revisions[n - 1].version.clone()),
        }
    }
}

impl Position {
    /// The version, `None` at base.
    pub fn version(&self) -> Option<&Version> {
        match self {
            Position::Base => None,
            Position::At(version) => Some(version),
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Position::Base => f.pad("base"),
            Position::At(version) => version.fmt(f),
        }
    }
}

/// One revision to run (or, for a stamp, to record) in one direction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step<'r> {
    /// The revision.
    pub revision: &'r Revision,
    /// Up or down.
    pub direction: Direction,
    /// The SQL this step runs, read and checked when the plan was made;
    /// `None` for a stamp, which runs none.
    pub sql: Option<Cow<'static, str>>,
    /// The checksums of the revision's files, for the companion table: read
    /// by [`Plan::read_checksums`] for every step up (a stamp's too), `None`
    /// going down or before.
    pub checksums: Option<Checksums>,
}

impl Step<'_> {
    /// The file this step runs.
    pub fn file(&self) -> SqlFile {
        self.direction.file()
    }
}

/// The ordered steps that take the version table from one position to another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan<'r> {
    /// What was asked for.
    pub kind: Kind,
    /// The starting point.
    pub from: Position,
    /// The end point.
    pub to: Position,
    /// Steps in execution order (newest first when going down).
    pub steps: Vec<Step<'r>>,
    /// Pending revisions older than the newest applied one, which this plan applies.
    pub out_of_order: Vec<&'r Revision>,
    /// Transaction grouping.
    pub transaction: TransactionMode,
    /// What reading the plan's files found worth telling (both sinks show it).
    pub warnings: Vec<PlanWarning>,
    /// Applied versions no revision on disk provides (online; offline
    /// nothing is known to be applied), sorted. A stamp without `--purge`
    /// leaves them in the table, and says so.
    pub missing_on_disk: Vec<Version>,
    /// A stamp's `--purge`: delete the rows no revision on disk provides.
    pub purge: Option<Purge>,
}

impl Plan<'_> {
    /// Whether running it would change nothing.
    pub fn is_noop(&self) -> bool {
        self.steps.is_empty() && self.purge.as_ref().is_none_or(Purge::is_noop)
    }
}

/// The rows a stamp with `--purge` deletes: every row whose version no
/// revision on disk provides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Purge {
    /// Online: these rows, read under the lock, deleted by version (and
    /// reported as such).
    Rows(Vec<Version>),
    /// Offline, where the script cannot know the rows: every version on
    /// disk; the script deletes the rows whose version is not among them.
    AllBut(Vec<Version>),
}

impl Purge {
    /// The purge of an offline stamp of `revisions`.
    pub fn offline(revisions: &[Revision]) -> Purge {
        Purge::AllBut(revisions.iter().map(|r| r.version.clone()).collect())
    }

    /// Whether it surely deletes nothing (online, nothing missing).
    pub fn is_noop(&self) -> bool {
        matches!(self, Purge::Rows(rows) if rows.is_empty())
    }
}

impl Plan<'_> {
    /// Read the checksums of every step up (see [`Step::checksums`]), as a
    /// run that records them needs before anything runs: an unreadable
    /// `down.sql` stops it then, not halfway. A step's `up.sql` is hashed
    /// from the text already read.
    pub fn read_checksums(&mut self) -> Result<(), PlanError> {
        crate::parallel::try_map_in_order(&mut self.steps, |step| {
            if step.direction == Direction::Up && step.checksums.is_none() {
                step.checksums = Some(step.revision.checksums(step.sql.as_deref())?);
            }
            Ok::<_, PlanError>(())
        })?;
        Ok(())
    }
}

/// Something about a plan's files worth telling the user, found while
/// reading them. Files are read when a plan is made, not when revisions are
/// discovered, so these come with the plan rather than with the
/// [`Discovery`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PlanWarning {
    /// The file starts with a UTF-8 byte order mark, which dmig leaves out
    /// (in the script too).
    ByteOrderMark {
        /// The file, as shown in messages.
        file: std::path::PathBuf,
    },
}

impl fmt::Display for PlanWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlanWarning::ByteOrderMark { file } => {
                let shown = file.display().to_string();
                write!(
                    f,
                    "`{}` starts with a UTF-8 byte order mark; dmig leaves it out (psql and the server would take it for part of the first statement)",
                    crate::model::printable(&shown)
                )
            }
        }
    }
}

/// What the planner needs to know beyond the revisions.
#[derive(Debug, Clone)]
pub struct Request {
    /// Upgrade, downgrade or stamp.
    pub kind: Kind,
    /// The target.
    pub target: Target,
    /// Transaction grouping.
    pub transaction: TransactionMode,
    /// Refuse out-of-order revisions instead of applying them.
    pub strict: bool,
    /// A stamp also deletes the rows no revision on disk provides (`--purge`).
    pub purge: bool,
}

impl Request {
    /// Upgrade to head, one transaction per revision: what an application runs at startup.
    pub fn upgrade_to_head() -> Request {
        Request {
            kind: Kind::Upgrade,
            target: Target::head(),
            transaction: TransactionMode::PerRevision,
            strict: false,
            purge: false,
        }
    }
}

/// The position relative targets count from: just above the newest applied
/// revision that is on disk.
pub fn current_position(revisions: &[Revision], applied: &HashSet<&str>) -> usize {
    revisions
        .iter()
        .rposition(|r| applied.contains(r.version.as_str()))
        .map_or(0, |index| index + 1)
}

/// Plan `request` given the `applied` versions, and read the SQL of every
/// step. `revisions` must be sorted (as [`discover`] returns them). Online,
/// `applied` comes from the database; offline, from the `FROM` of a range
/// (see [`plan_range`]).
pub fn plan<'r>(
    revisions: &'r [Revision],
    applied: &HashSet<&str>,
    request: &Request,
) -> Result<Plan<'r>, PlanError> {
    let current = current_position(revisions, applied);
    let target = target::resolve(&request.target, revisions, current)?;
    plan_to(revisions, applied, current, target, request)
}

/// Offline planning: the versions below `FROM` count as applied, and `FROM`
/// and `TO` must be in the order the command implies. A downgrade needs its
/// `FROM`: offline, nothing says what is applied.
pub fn plan_range<'r>(
    revisions: &'r [Revision],
    kind: Kind,
    range: &Range,
    transaction: TransactionMode,
) -> Result<Plan<'r>, PlanError> {
    range.check_for(kind)?;
    // A relative FROM counts from base going up and from head going down.
    let from_base = match kind {
        Kind::Upgrade | Kind::Stamp => 0,
        Kind::Downgrade | Kind::Redo => revisions.len(),
    };
    let from = match &range.from {
        Some(from) => target::resolve(from, revisions, from_base)?,
        None => from_base,
    };
    let to = target::resolve(&range.to, revisions, from)?;
    let wrong_order = |reason| PlanError::WrongOrder {
        range: range.text().to_string(),
        command: kind.as_str(),
        reason,
    };
    match kind {
        Kind::Upgrade if from > to => return Err(wrong_order("FROM is after TO")),
        Kind::Downgrade | Kind::Redo if from < to => {
            return Err(wrong_order(
                "it goes from the newer FROM down to the older TO",
            ))
        }
        _ => {}
    }
    let applied: HashSet<&str> = revisions[..from]
        .iter()
        .map(|r| r.version.as_str())
        .collect();
    let request = Request {
        kind,
        target: range.to.clone(),
        transaction,
        strict: false,
        purge: false,
    };
    plan_to(revisions, &applied, from, to, &request)
}

fn plan_to<'r>(
    revisions: &'r [Revision],
    applied: &HashSet<&str>,
    current: usize,
    target: usize,
    request: &Request,
) -> Result<Plan<'r>, PlanError> {
    let is_applied = |r: &Revision| applied.contains(r.version.as_str());
    let step = |direction| {
        move |revision: &'r Revision| Step {
            revision,
            direction,
            sql: None,
            checksums: None,
        }
    };
    let pending_below = revisions[..target]
        .iter()
        .filter(|r| !is_applied(r))
        .map(step(Direction::Up));
    let applied_above = revisions[target..]
        .iter()
        .rev()
        .filter(|r| is_applied(r))
        .map(step(Direction::Down));
    let mut steps: Vec<Step<'r>> = match request.kind {
        Kind::Upgrade => pending_below.collect(),
        Kind::Downgrade => applied_above.collect(),
        Kind::Stamp => applied_above.chain(pending_below).collect(),
        Kind::Redo => {
            let down: Vec<Step<'r>> = applied_above.collect();
            let up: Vec<Step<'r>> = down
                .iter()
                .rev()
                .map(|s| step(Direction::Up)(s.revision))
                .collect();
            down.into_iter().chain(up).collect()
        }
    };
    // A redo is all or nothing where the server allows it: one transaction
    // when every revision in it runs in one (diesel's `redo` is not atomic).
    let transaction = match request.kind {
        Kind::Redo if steps.iter().all(|s| s.revision.run_in_transaction) => {
            TransactionMode::Single
        }
        Kind::Redo => TransactionMode::PerRevision,
        _ => request.transaction,
    };

    if matches!(request.kind, Kind::Downgrade | Kind::Redo) {
        // Reverting below an applied version that is missing on disk would
        // leave a row nobody can revert.
        let floor = revisions[..target]
            .last()
            .map_or("", |r| r.version.as_str());
        let crossed = status::missing_on_disk(revisions, applied.iter().copied())
            .into_iter()
            .rfind(|version| *version > floor);
        if let Some(version) = crossed {
            return Err(PlanError::AppliedMissingOnDisk {
                version: Version::from_row(version.to_owned()),
            });
        }
    }
    let out_of_order: Vec<&Revision> = if request.kind == Kind::Upgrade {
        let newest = status::newest(applied.iter().copied());
        steps
            .iter()
            .map(|s| s.revision)
            .filter(|r| status::is_out_of_order(r, newest))
            .collect()
    } else {
        Vec::new()
    };
    if request.strict {
        if let Some(first) = out_of_order.first() {
            return Err(PlanError::OutOfOrder {
                name: first.name.clone(),
                count: out_of_order.len(),
            });
        }
    }
    let missing_on_disk: Vec<Version> = status::missing_on_disk(revisions, applied.iter().copied())
        .into_iter()
        .map(|v| Version::from_row(v.to_owned()))
        .collect();
    let purge = (request.kind == Kind::Stamp && request.purge)
        .then(|| Purge::Rows(missing_on_disk.clone()));
    let mut warnings = Vec::new();
    if request.kind != Kind::Stamp {
        for step in &steps {
            if step.direction == Direction::Down && step.revision.down.is_none() {
                return Err(SourceError::MissingDown {
                    name: step.revision.name.clone(),
                }
                .into());
            }
            if transaction == TransactionMode::Single && !step.revision.run_in_transaction {
                return Err(PlanError::NonTransactionalInSingle {
                    name: step.revision.name.clone(),
                });
            }
        }
        // Every file is read and checked before anything is written or run.
        // On several threads for large plans (see `crate::parallel`).
        let marks = crate::parallel::try_map_in_order(&mut steps, |step| {
            let sql = step.revision.read_sql_text(step.file())?;
            check::check_step(step, &sql.text, request.transaction)?;
            let mark = sql.byte_order_mark.then(|| PlanWarning::ByteOrderMark {
                file: step.revision.display_path(step.file()),
            });
            step.sql = Some(sql.text);
            Ok::<_, PlanError>(mark)
        })?;
        warnings.extend(marks.into_iter().flatten());
    }
    Ok(Plan {
        kind: request.kind,
        from: Position::of(revisions, current),
        to: Position::of(revisions, target),
        steps,
        out_of_order,
        transaction,
        warnings,
        missing_on_disk,
        purge,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn revs(specs: &[(&str, bool, bool)]) -> Vec<Revision> {
        specs
            .iter()
            .map(|(name, transactional, has_down)| Revision {
                version: Version::from_dir_name(name),
                name: name.to_string(),
                up: SqlSource::Embedded("select 1;"),
                down: has_down.then_some(SqlSource::Embedded("select 1;")),
                run_in_transaction: *transactional,
            })
            .collect()
    }

    fn five() -> Vec<Revision> {
        revs(&[
            ("1_a", true, true),
            ("2_b", true, true),
            ("3_c", false, true),
            ("4_d", true, false),
            ("5_e", true, true),
        ])
    }

    fn names(plan: &Plan<'_>) -> Vec<String> {
        plan.steps
            .iter()
            .map(|s| {
                let arrow = if s.direction == Direction::Up {
                    "+"
                } else {
                    "-"
                };
                format!("{arrow}{}", s.revision.name)
            })
            .collect()
    }

    fn request(kind: Kind, target: &str) -> Request {
        Request {
            kind,
            target: Target::parse(target).expect("target"),
            transaction: TransactionMode::PerRevision,
            strict: false,
            purge: false,
        }
    }

    fn online(
        revisions: &[Revision],
        applied: &[&str],
        kind: Kind,
        target: &str,
    ) -> Result<Vec<String>, PlanError> {
        let applied: HashSet<&str> = applied.iter().copied().collect();
        plan(revisions, &applied, &request(kind, target)).map(|p| names(&p))
    }

    fn offline(kind: Kind, range: &str) -> Result<Vec<String>, PlanError> {
        let revisions = five();
        let parsed = Range::parse(range)?;
        plan_range(&revisions, kind, &parsed, TransactionMode::PerRevision).map(|p| names(&p))
    }

    #[test]
    fn upgrade_applies_pending_in_version_order() {
        let steps = online(&five(), &["1"], Kind::Upgrade, "head").expect("plan");
        assert_eq!(steps, ["+2_b", "+3_c", "+4_d", "+5_e"]);
        let steps = online(&five(), &["1"], Kind::Upgrade, "+2").expect("plan");
        assert_eq!(steps, ["+2_b", "+3_c"]);
    }

    #[test]
    fn steps_carry_their_sql_and_stamps_carry_none() {
        let revisions = five();
        let applied = HashSet::new();
        let planned = plan(&revisions, &applied, &request(Kind::Upgrade, "2")).expect("plan");
        assert!(planned
            .steps
            .iter()
            .all(|s| s.sql.as_deref() == Some("select 1;")));
        let stamped = plan(&revisions, &applied, &request(Kind::Stamp, "2")).expect("plan");
        assert!(stamped.steps.iter().all(|s| s.sql.is_none()));
    }

    #[test]
    fn checksums_are_read_on_request_for_steps_up_only() {
        let revisions = five();
        let mut redo = plan(
            &revisions,
            &["1", "2"].into_iter().collect(),
            &request(Kind::Redo, "-1"),
        )
        .expect("plan");
        assert!(redo.steps.iter().all(|s| s.checksums.is_none()));
        redo.read_checksums().expect("read");
        let hashed: Vec<(Direction, bool)> = redo
            .steps
            .iter()
            .map(|s| (s.direction, s.checksums.is_some()))
            .collect();
        assert_eq!(hashed, [(Direction::Down, false), (Direction::Up, true)]);
        let sums = redo.steps[1].checksums.as_ref().expect("up");
        assert_eq!(sums.up, crate::source::checksum::sha256_hex(b"select 1;"));
    }

    #[test]
    fn downgrade_reverts_newest_first_and_checks_down_sql_up_front() {
        let steps = online(&five(), &["1", "2", "3"], Kind::Downgrade, "base").expect("plan");
        assert_eq!(steps, ["-3_c", "-2_b", "-1_a"]);
        let err = online(&five(), &["1", "2", "3", "4", "5"], Kind::Downgrade, "-2")
            .expect_err("4_d has no down.sql");
        assert_eq!(
            err.to_string(),
            "revision `4_d` has no down.sql, so it cannot be reverted"
        );
        let steps =
            online(&five(), &["1", "2", "3", "4", "5"], Kind::Downgrade, "-1").expect("plan");
        assert_eq!(steps, ["-5_e"]);
    }

    #[test]
    fn out_of_order_pending_revisions_are_reported_or_refused() {
        let revisions = five();
        let applied: HashSet<&str> = ["1", "3"].into_iter().collect();
        let mut request = request(Kind::Upgrade, "head");
        let planned = plan(&revisions, &applied, &request).expect("plan");
        assert_eq!(names(&planned), ["+2_b", "+4_d", "+5_e"]);
        let late: Vec<_> = planned
            .out_of_order
            .iter()
            .map(|r| r.name.as_str())
            .collect();
        assert_eq!(late, ["2_b"]);
        request.strict = true;
        let err = plan(&revisions, &applied, &request).expect_err("strict");
        assert!(err.to_string().contains("2_b"), "{err}");
    }

    #[test]
    fn downgrade_across_applied_version_missing_on_disk_is_refused() {
        let err = online(&five(), &["1", "2", "9"], Kind::Downgrade, "base").expect_err("missing");
        assert_eq!(
            err.to_string(),
            "version `9` is applied but missing from the migrations directory, so it cannot be reverted"
        );
        // Not crossed: reverting 5 leaves the missing 35 below the target.
        let steps = online(
            &five(),
            &["1", "2", "3", "35", "4", "5"],
            Kind::Downgrade,
            "-1",
        )
        .expect("plan");
        assert_eq!(steps, ["-5_e"]);
    }

    #[test]
    fn stamp_moves_the_table_both_ways_without_down_sql() {
        let steps = online(&five(), &["1", "2"], Kind::Stamp, "4").expect("plan");
        assert_eq!(steps, ["+3_c", "+4_d"]);
        let steps = online(&five(), &["1", "2", "3", "4", "5"], Kind::Stamp, "2").expect("plan");
        assert_eq!(steps, ["-5_e", "-4_d", "-3_c"]);
    }

    #[test]
    fn a_stamp_names_rows_missing_on_disk_and_purges_them_only_when_asked() {
        let revisions = five();
        let applied: HashSet<&str> = ["1", "2", "9"].into_iter().collect();
        let kept = plan(&revisions, &applied, &request(Kind::Stamp, "2")).expect("plan");
        assert_eq!(kept.missing_on_disk, [Version::from_row("9".into())]);
        assert!(kept.purge.is_none() && kept.is_noop());
        let mut purging = request(Kind::Stamp, "2");
        purging.purge = true;
        let purged = plan(&revisions, &applied, &purging).expect("plan");
        assert_eq!(
            purged.purge,
            Some(Purge::Rows(vec![Version::from_row("9".into())]))
        );
        assert!(purged.steps.is_empty() && !purged.is_noop());
        let none: HashSet<&str> = ["1", "2"].into_iter().collect();
        assert!(plan(&revisions, &none, &purging).expect("plan").is_noop());
    }

    #[test]
    fn offline_ranges() {
        assert_eq!(offline(Kind::Upgrade, "head").expect("plan").len(), 5);
        assert_eq!(
            offline(Kind::Upgrade, "2:4").expect("plan"),
            ["+3_c", "+4_d"]
        );
        assert_eq!(
            offline(Kind::Upgrade, "1:+2").expect("plan"),
            ["+2_b", "+3_c"]
        );
        assert_eq!(offline(Kind::Upgrade, "+1").expect("plan"), ["+1_a"]);
        assert_eq!(
            offline(Kind::Downgrade, "3:base").expect("plan"),
            ["-3_c", "-2_b", "-1_a"]
        );
        assert_eq!(offline(Kind::Downgrade, "head:-1").expect("plan"), ["-5_e"]);
        assert_eq!(
            offline(Kind::Stamp, "3").expect("plan"),
            ["+1_a", "+2_b", "+3_c"]
        );
    }

    #[test]
    fn offline_range_in_wrong_order_or_without_from_is_refused() {
        let err = offline(Kind::Upgrade, "4:2").expect_err("backwards");
        assert_eq!(
            err.to_string(),
            "range `4:2` is backwards for upgrade: FROM is after TO"
        );
        assert!(offline(Kind::Downgrade, "2:4").is_err());
        let err = offline(Kind::Downgrade, "head:base").expect_err("4_d has no down");
        assert!(err.to_string().contains("4_d"), "{err}");
        let err = offline(Kind::Downgrade, "base").expect_err("no FROM");
        assert!(err.to_string().contains("needs a FROM:TO range"), "{err}");
    }

    #[test]
    fn single_transaction_refuses_non_transactional_revision() {
        let revisions = five();
        let range = Range::parse("base:2").expect("range");
        assert!(plan_range(&revisions, Kind::Upgrade, &range, TransactionMode::Single).is_ok());
        let range = Range::parse("base:3").expect("range");
        let err = plan_range(&revisions, Kind::Upgrade, &range, TransactionMode::Single)
            .expect_err("3_c is non-transactional");
        assert!(err.to_string().contains("`3_c`"), "{err}");
    }

    #[test]
    fn a_large_plan_read_in_parallel_names_the_first_bad_file_in_order() {
        // Past `parallel::PARALLEL_FROM` the files are read on several threads; two bad
        // ones, in different parts: the earlier one is named, every time.
        let revisions: Vec<Revision> = (1..=300)
            .map(|i| {
                let name = format!("{i:04}_r");
                let up = match i {
                    120 | 280 => "SELECT 'open;",
                    _ => "SELECT 1;",
                };
                Revision {
                    version: Version::from_dir_name(&name),
                    name,
                    up: SqlSource::Embedded(up),
                    down: None,
                    run_in_transaction: true,
                }
            })
            .collect();
        let range = Range::parse("base:head").expect("range");
        for _ in 0..20 {
            let err = plan_range(
                &revisions,
                Kind::Upgrade,
                &range,
                TransactionMode::PerRevision,
            )
            .expect_err("two files do not lex");
            assert!(err.to_string().contains("0120_r"), "{err}");
        }
        let range = Range::parse("base:0119").expect("range");
        let plan = plan_range(
            &revisions,
            Kind::Upgrade,
            &range,
            TransactionMode::PerRevision,
        )
        .expect("the first 119 lex");
        let versions: Vec<&str> = plan
            .steps
            .iter()
            .map(|s| s.revision.name.as_str())
            .collect();
        let expected: Vec<String> = (1..=119).map(|i| format!("{i:04}_r")).collect();
        assert_eq!(versions, expected);
        assert!(plan
            .steps
            .iter()
            .all(|s| s.sql.as_deref() == Some("SELECT 1;")));
    }

    #[test]
    fn statements_that_cannot_run_in_the_transaction_are_refused_with_their_place() {
        let revision = |name: &str, up: &'static str, transactional| Revision {
            version: Version::from_dir_name(name),
            name: name.to_string(),
            up: SqlSource::Embedded(up),
            down: None,
            run_in_transaction: transactional,
        };
        let cic = "SELECT 1;\n  CREATE INDEX CONCURRENTLY i ON t (x);\n";
        let revisions = vec![
            revision("1_a", "SELECT 1;", true),
            revision("2_b", cic, false),
            revision("3_c", "SELECT 1;\nCOMMIT;", true),
        ];
        let range = |text| Range::parse(text).expect("range");
        // Non-transactional: runs as it is.
        assert!(plan_range(
            &revisions,
            Kind::Upgrade,
            &range("base:2"),
            TransactionMode::PerRevision
        )
        .is_ok());
        let err = plan_range(
            &revisions,
            Kind::Upgrade,
            &range("base:3"),
            TransactionMode::PerRevision,
        )
        .expect_err("COMMIT in a transactional revision");
        assert!(
            matches!(
                err,
                PlanError::InTransaction {
                    line: 2,
                    column: 1,
                    single: false,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(
            err.to_string()
                .starts_with("revision `3_c` controls its own transaction"),
            "{err}"
        );

        let transactional = vec![
            revision("1_a", "SELECT 1;", true),
            revision("2_b", cic, true),
        ];
        let err = plan_range(
            &transactional,
            Kind::Upgrade,
            &range("base:2"),
            TransactionMode::Single,
        )
        .expect_err("CIC in a single transaction");
        assert!(
            matches!(
                err,
                PlanError::InTransaction {
                    line: 2,
                    column: 3,
                    single: true,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(
            err.to_string().contains(
                "2_b/up.sql:2:3: CREATE INDEX CONCURRENTLY cannot run inside a transaction block"
            ),
            "{err}"
        );
        // A stamp runs no SQL, so nothing is refused.
        assert!(plan_range(
            &transactional,
            Kind::Stamp,
            &range("2"),
            TransactionMode::PerRevision
        )
        .is_ok());
    }

    #[test]
    fn positions_name_base_and_versions() {
        let revisions = five();
        let range = Range::parse("base:head").expect("range");
        let planned = plan_range(
            &revisions,
            Kind::Upgrade,
            &range,
            TransactionMode::PerRevision,
        )
        .expect("plan");
        assert_eq!(planned.from, Position::Base);
        assert_eq!(
            (planned.from.to_string(), planned.to.to_string()),
            ("base".into(), "5".into())
        );
    }
}
