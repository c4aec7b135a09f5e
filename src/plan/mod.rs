//! The pure core: revisions on disk, targets, and the one planner that both
//! the online and the offline sink consume. Nothing here connects to a
//! database or needs a runtime.

pub mod source;
pub mod target;

use std::borrow::Cow;
use std::collections::HashSet;

pub use source::{discover, Discovery, Revision, SqlFile, SqlSource};
pub use target::{Range, Target};

use crate::error::{PlanError, SourceError};

/// Which way a step goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Run `up.sql`, insert the version row.
    Up,
    /// Run `down.sql`, delete the version row.
    Down,
}

/// What the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Apply pending revisions up to the target.
    Upgrade,
    /// Revert applied revisions down to the target.
    Downgrade,
    /// Change the version table only, running no revision SQL.
    Stamp,
}

impl Kind {
    /// The command name, as in messages and output file names.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Upgrade => "upgrade",
            Kind::Downgrade => "downgrade",
            Kind::Stamp => "stamp",
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

/// One revision to run (or, for a stamp, to record) in one direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step<'r> {
    /// The revision.
    pub revision: &'r Revision,
    /// Up or down.
    pub direction: Direction,
}

impl Step<'_> {
    /// The file this step runs.
    pub fn file(&self) -> SqlFile {
        match self.direction {
            Direction::Up => SqlFile::Up,
            Direction::Down => SqlFile::Down,
        }
    }
}

/// The ordered steps that take the version table from one position to another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan<'r> {
    /// What was asked for.
    pub kind: Kind,
    /// The starting point: `base` or the version of the newest applied revision.
    pub from: String,
    /// The end point: `base` or a version.
    pub to: String,
    /// Steps in execution order (newest first when going down).
    pub steps: Vec<Step<'r>>,
    /// Pending revisions older than the newest applied one, which this plan applies.
    pub out_of_order: Vec<&'r Revision>,
    /// Transaction grouping.
    pub transaction: TransactionMode,
}

impl<'r> Plan<'r> {
    /// Read and check the SQL every step needs, before anything is written or
    /// run, so a bad file anywhere in the range stops the command up front.
    /// Stamps run no SQL and load nothing.
    pub fn load_sql(&self) -> Result<Vec<Cow<'static, str>>, SourceError> {
        if self.kind == Kind::Stamp {
            return Ok(Vec::new());
        }
        self.steps
            .iter()
            .map(|step| step.revision.read_sql(step.file()))
            .collect()
    }
}

/// What the planner needs to know beyond the revisions.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// Upgrade, downgrade or stamp.
    pub kind: Kind,
    /// The target.
    pub target: &'a Target,
    /// The target as typed, for messages.
    pub raw_target: &'a str,
    /// Transaction grouping.
    pub transaction: TransactionMode,
    /// Refuse out-of-order revisions instead of applying them.
    pub strict: bool,
}

/// Label of a position: `base`, or the version of the last revision below it.
pub fn position_label(revisions: &[Revision], position: usize) -> String {
    match position {
        0 => "base".to_string(),
        n => revisions[n - 1].version.clone(),
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

/// Plan `request` given the `applied` versions. `revisions` must be sorted
/// (as [`discover`] returns them). Online, `applied` comes from the database;
/// offline, from the `FROM` of a range (see [`plan_range`]).
pub fn plan<'r>(
    revisions: &'r [Revision],
    applied: &HashSet<&str>,
    request: &Request<'_>,
) -> Result<Plan<'r>, PlanError> {
    let current = current_position(revisions, applied);
    let target = target::resolve(request.target, request.raw_target, revisions, current)?;
    plan_to(revisions, applied, current, target, request)
}

/// Offline planning: the versions below `FROM` count as applied, and `FROM`
/// and `TO` must be in the order the command implies.
pub fn plan_range<'r>(
    revisions: &'r [Revision],
    kind: Kind,
    range: &Range,
    raw_range: &str,
    transaction: TransactionMode,
) -> Result<Plan<'r>, PlanError> {
    let default_from = match kind {
        Kind::Upgrade | Kind::Stamp => 0,
        Kind::Downgrade => revisions.len(),
    };
    let (raw_from, raw_to) = raw_range.split_once(':').unwrap_or(("", raw_range));
    let from = match &range.from {
        Some(from) => target::resolve(from, raw_from, revisions, default_from)?,
        None => default_from,
    };
    let to = target::resolve(&range.to, raw_to, revisions, from)?;
    let wrong_order = |reason| PlanError::WrongOrder {
        range: raw_range.to_string(),
        command: kind.as_str(),
        reason,
    };
    match kind {
        Kind::Upgrade if from > to => return Err(wrong_order("FROM is after TO")),
        Kind::Downgrade if from < to => {
            return Err(wrong_order(
                "a downgrade goes from the newer FROM down to the older TO",
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
        target: &range.to,
        raw_target: raw_to,
        transaction,
        strict: false,
    };
    plan_to(revisions, &applied, from, to, &request)
}

fn plan_to<'r>(
    revisions: &'r [Revision],
    applied: &HashSet<&str>,
    current: usize,
    target: usize,
    request: &Request<'_>,
) -> Result<Plan<'r>, PlanError> {
    let is_applied = |r: &Revision| applied.contains(r.version.as_str());
    let up = |r: &'r Revision| Step {
        revision: r,
        direction: Direction::Up,
    };
    let down = |r: &'r Revision| Step {
        revision: r,
        direction: Direction::Down,
    };
    let pending_below = revisions[..target]
        .iter()
        .filter(|r| !is_applied(r))
        .map(up);
    let applied_above = revisions[target..]
        .iter()
        .rev()
        .filter(|r| is_applied(r))
        .map(down);
    let steps: Vec<Step<'r>> = match request.kind {
        Kind::Upgrade => pending_below.collect(),
        Kind::Downgrade => applied_above.collect(),
        Kind::Stamp => applied_above.chain(pending_below).collect(),
    };

    if matches!(request.kind, Kind::Downgrade | Kind::Stamp) {
        check_no_missing_crossed(revisions, applied, target, request.kind)?;
    }
    let out_of_order: Vec<&Revision> = if request.kind == Kind::Upgrade {
        let newest_applied = applied.iter().max().copied().unwrap_or("");
        steps
            .iter()
            .map(|s| s.revision)
            .filter(|r| r.version.as_str() < newest_applied)
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
    if request.kind != Kind::Stamp {
        for step in &steps {
            if step.direction == Direction::Down && step.revision.down.is_none() {
                return Err(SourceError::MissingDown {
                    name: step.revision.name.clone(),
                }
                .into());
            }
            if request.transaction == TransactionMode::Single && !step.revision.run_in_transaction {
                return Err(PlanError::NonTransactionalInSingle {
                    name: step.revision.name.clone(),
                });
            }
        }
    }
    Ok(Plan {
        kind: request.kind,
        from: position_label(revisions, current),
        to: position_label(revisions, target),
        steps,
        out_of_order,
        transaction: request.transaction,
    })
}

/// A downgrade (or stamp) below an applied version that is missing on disk
/// would leave a row nobody can revert: refuse before anything runs.
fn check_no_missing_crossed(
    revisions: &[Revision],
    applied: &HashSet<&str>,
    target: usize,
    kind: Kind,
) -> Result<(), PlanError> {
    if kind == Kind::Stamp {
        return Ok(());
    }
    let floor = if target == 0 {
        ""
    } else {
        revisions[target - 1].version.as_str()
    };
    let mut missing: Vec<&str> = applied
        .iter()
        .copied()
        .filter(|v| *v > floor)
        .filter(|v| {
            revisions
                .binary_search_by(|r| r.version.as_str().cmp(v))
                .is_err()
        })
        .collect();
    missing.sort_unstable();
    match missing.last() {
        Some(version) => Err(PlanError::AppliedMissingOnDisk {
            version: version.to_string(),
        }),
        None => Ok(()),
    }
}

/// Applied versions that no directory on disk provides, sorted.
pub fn missing_on_disk<'a>(revisions: &[Revision], applied: &HashSet<&'a str>) -> Vec<&'a str> {
    let mut missing: Vec<&str> = applied
        .iter()
        .copied()
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

    fn revs(specs: &[(&str, bool, bool)]) -> Vec<Revision> {
        specs
            .iter()
            .map(|(name, transactional, has_down)| Revision {
                version: source::version_from_name(name),
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

    fn online(
        revisions: &[Revision],
        applied: &[&str],
        kind: Kind,
        target: &str,
    ) -> Result<Vec<String>, PlanError> {
        let applied: HashSet<&str> = applied.iter().copied().collect();
        let target_parsed = Target::parse(target)?;
        let request = Request {
            kind,
            target: &target_parsed,
            raw_target: target,
            transaction: TransactionMode::PerRevision,
            strict: false,
        };
        plan(revisions, &applied, &request).map(|p| names(&p))
    }

    fn offline(kind: Kind, range: &str) -> Result<Vec<String>, PlanError> {
        let revisions = five();
        let parsed = Range::parse(range)?;
        plan_range(
            &revisions,
            kind,
            &parsed,
            range,
            TransactionMode::PerRevision,
        )
        .map(|p| names(&p))
    }

    #[test]
    fn upgrade_applies_pending_in_version_order() {
        let steps = online(&five(), &["1"], Kind::Upgrade, "head").expect("plan");
        assert_eq!(steps, ["+2_b", "+3_c", "+4_d", "+5_e"]);
        let steps = online(&five(), &["1"], Kind::Upgrade, "+2").expect("plan");
        assert_eq!(steps, ["+2_b", "+3_c"]);
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
        let target = Target::Head;
        let mut request = Request {
            kind: Kind::Upgrade,
            target: &target,
            raw_target: "head",
            transaction: TransactionMode::PerRevision,
            strict: false,
        };
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
    }

    #[test]
    fn stamp_moves_the_table_both_ways_without_down_sql() {
        let steps = online(&five(), &["1", "2"], Kind::Stamp, "4").expect("plan");
        assert_eq!(steps, ["+3_c", "+4_d"]);
        let steps = online(&five(), &["1", "2", "3", "4", "5"], Kind::Stamp, "2").expect("plan");
        assert_eq!(steps, ["-5_e", "-4_d", "-3_c"]);
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
    fn offline_range_in_wrong_order_is_refused() {
        let err = offline(Kind::Upgrade, "4:2").expect_err("backwards");
        assert_eq!(
            err.to_string(),
            "range `4:2` is backwards for upgrade: FROM is after TO"
        );
        assert!(offline(Kind::Downgrade, "2:4").is_err());
        let err = offline(Kind::Downgrade, "head:base").expect_err("4_d has no down");
        assert!(err.to_string().contains("4_d"), "{err}");
    }

    #[test]
    fn single_transaction_refuses_non_transactional_revision() {
        let revisions = five();
        let range = Range::parse("base:2").expect("range");
        assert!(plan_range(
            &revisions,
            Kind::Upgrade,
            &range,
            "base:2",
            TransactionMode::Single
        )
        .is_ok());
        let range = Range::parse("base:3").expect("range");
        let err = plan_range(
            &revisions,
            Kind::Upgrade,
            &range,
            "base:3",
            TransactionMode::Single,
        )
        .expect_err("3_c is non-transactional");
        assert!(err.to_string().contains("`3_c`"), "{err}");
    }

    #[test]
    fn labels_name_base_and_versions() {
        let revisions = five();
        let range = Range::parse("base:head").expect("range");
        let planned = plan_range(
            &revisions,
            Kind::Upgrade,
            &range,
            "base:head",
            TransactionMode::PerRevision,
        )
        .expect("plan");
        assert_eq!((planned.from.as_str(), planned.to.as_str()), ("base", "5"));
    }
}
