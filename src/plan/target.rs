//! Targets (`head`, `base`, a version, a directory name, a unique prefix, `+N`,
//! `-N`) and `FROM:TO` ranges, resolved to a *position*: the number of
//! revisions, in version order, that are applied at that point (0 = base).

use super::Kind;
use crate::error::PlanError;
use crate::model::Revision;

/// How many candidates an error message lists at most.
const MAX_CANDIDATES: usize = 10;

/// What a target names, not yet resolved against the revisions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetKind {
    /// Every revision applied.
    Head,
    /// No revision applied.
    Base,
    /// `+N` / `-N`, relative to the current position.
    Relative(i64),
    /// A version, a dashed version, a directory name or a unique prefix.
    Revision(String),
}

/// A parsed target, with the text it was parsed from (for messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    kind: TargetKind,
    text: String,
}

impl Target {
    /// `head`.
    pub fn head() -> Target {
        Target {
            kind: TargetKind::Head,
            text: "head".to_owned(),
        }
    }

    /// `base`.
    pub fn base() -> Target {
        Target {
            kind: TargetKind::Base,
            text: "base".to_owned(),
        }
    }

    /// What the target names.
    pub fn kind(&self) -> &TargetKind {
        &self.kind
    }

    /// The text the target was parsed from.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Parse one target (a `FROM:TO` range is refused: see [`Range`]).
    pub fn parse(text: &str) -> Result<Target, PlanError> {
        let invalid = |reason| PlanError::InvalidTarget {
            target: text.to_string(),
            reason,
        };
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(invalid("it is empty"));
        }
        if trimmed.contains(':') {
            return Err(PlanError::RangeNotAllowed {
                range: text.to_string(),
            });
        }
        let kind = match trimmed {
            "head" => TargetKind::Head,
            "base" => TargetKind::Base,
            _ => match trimmed.chars().next() {
                Some(sign @ ('+' | '-')) => {
                    let digits = &trimmed[1..];
                    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                        return Err(invalid("a relative target is `+N` or `-N` with N a number"));
                    }
                    let n: i64 = digits
                        .parse()
                        .map_err(|_| invalid("the relative step is too large"))?;
                    TargetKind::Relative(if sign == '-' { -n } else { n })
                }
                _ if trimmed.chars().any(char::is_control) => {
                    return Err(invalid("it contains a control character"))
                }
                _ => TargetKind::Revision(trimmed.to_string()),
            },
        };
        Ok(Target {
            kind,
            text: text.to_string(),
        })
    }
}

/// `TARGET` or `FROM:TO`, as offline commands take it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    /// `FROM`, when given.
    pub from: Option<Target>,
    /// `TO`.
    pub to: Target,
    text: String,
}

impl Range {
    /// Parse `TARGET` or `FROM:TO`.
    pub fn parse(text: &str) -> Result<Range, PlanError> {
        let (from, to) = match text.split_once(':') {
            None => (None, Target::parse(text)?),
            Some((from, to)) => {
                if to.contains(':') {
                    return Err(PlanError::InvalidTarget {
                        target: text.to_string(),
                        reason: "a range has exactly one `:`",
                    });
                }
                (Some(Target::parse(from)?), Target::parse(to)?)
            }
        };
        Ok(Range {
            from,
            to,
            text: text.to_string(),
        })
    }

    /// Parse a range for an offline `kind` and check it fits: a downgrade
    /// needs its `FROM`, since offline nothing says what is applied.
    pub fn parse_for(kind: Kind, text: &str) -> Result<Range, PlanError> {
        let range = Range::parse(text)?;
        range.check_for(kind)?;
        Ok(range)
    }

    /// See [`Range::parse_for`].
    pub fn check_for(&self, kind: Kind) -> Result<(), PlanError> {
        if kind == Kind::Downgrade && self.from.is_none() {
            return Err(PlanError::RangeNeedsFrom {
                target: self.text.clone(),
            });
        }
        Ok(())
    }

    /// The text the range was parsed from.
    pub fn text(&self) -> &str {
        &self.text
    }
}

/// Resolve `target` to a position in `revisions` (sorted), `current` being the
/// position that relative targets count from.
pub fn resolve(
    target: &Target,
    revisions: &[Revision],
    current: usize,
) -> Result<usize, PlanError> {
    let raw = target.text();
    match &target.kind {
        TargetKind::Head => Ok(revisions.len()),
        TargetKind::Base => Ok(0),
        TargetKind::Relative(delta) => {
            let position = i64::try_from(current)
                .unwrap_or(i64::MAX)
                .saturating_add(*delta);
            if position < 0 {
                Err(PlanError::OutOfRange {
                    target: raw.to_string(),
                    reason: format!("only {current} revision(s) below the starting point"),
                })
            } else if position as u64 > revisions.len() as u64 {
                Err(PlanError::OutOfRange {
                    target: raw.to_string(),
                    reason: format!(
                        "only {} revision(s) above the starting point",
                        revisions.len() - current.min(revisions.len())
                    ),
                })
            } else {
                Ok(position as usize)
            }
        }
        TargetKind::Revision(text) => find(text, raw, revisions).map(|index| index + 1),
    }
}

/// Index of the revision named by `text`: exact directory name, exact version
/// (dashes ignored), then a unique prefix of either.
fn find(text: &str, raw: &str, revisions: &[Revision]) -> Result<usize, PlanError> {
    if let Some(index) = revisions.iter().position(|r| r.name == text) {
        return Ok(index);
    }
    let normalized = text.replace('-', "");
    if let Ok(index) = revisions.binary_search_by(|r| r.version.as_str().cmp(normalized.as_str())) {
        return Ok(index);
    }
    let matches: Vec<usize> = revisions
        .iter()
        .enumerate()
        .filter(|(_, r)| r.name.starts_with(text) || r.version.as_str().starts_with(&normalized))
        .map(|(index, _)| index)
        .collect();
    match matches.as_slice() {
        [index] => Ok(*index),
        [] => Err(PlanError::UnknownTarget {
            target: raw.to_string(),
            candidates: near_candidates(text, revisions),
        }),
        many => Err(PlanError::AmbiguousTarget {
            target: raw.to_string(),
            candidates: many
                .iter()
                .take(MAX_CANDIDATES)
                .map(|&i| revisions[i].name.clone())
                .collect(),
        }),
    }
}

/// Revisions whose name contains the text, else the newest few: enough for a
/// user to see what they meant without scrolling through thousands.
fn near_candidates(text: &str, revisions: &[Revision]) -> Vec<String> {
    let lowered = text.to_lowercase();
    let containing: Vec<String> = revisions
        .iter()
        .filter(|r| r.name.to_lowercase().contains(&lowered))
        .take(MAX_CANDIDATES)
        .map(|r| r.name.clone())
        .collect();
    if !containing.is_empty() {
        return containing;
    }
    let mut newest: Vec<String> = revisions
        .iter()
        .rev()
        .take(5)
        .map(|r| r.name.clone())
        .collect();
    newest.push("head".to_string());
    newest.push("base".to_string());
    newest
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{SqlSource, Version};

    pub(crate) fn revs(names: &[&str]) -> Vec<Revision> {
        names
            .iter()
            .map(|name| Revision {
                version: Version::from_dir_name(name),
                name: name.to_string(),
                up: SqlSource::Embedded("select 1;"),
                down: Some(SqlSource::Embedded("select 1;")),
                run_in_transaction: true,
            })
            .collect()
    }

    fn sample() -> Vec<Revision> {
        revs(&[
            "2024-01-01-120000_create_users",
            "2024-01-02-090000_create_posts",
            "2024-02-01-000000_add_index",
        ])
    }

    fn at(text: &str, current: usize) -> Result<usize, PlanError> {
        resolve(&Target::parse(text)?, &sample(), current)
    }

    #[test]
    fn head_and_base() {
        assert_eq!(at("head", 1).ok(), Some(3));
        assert_eq!(at("base", 2).ok(), Some(0));
    }

    #[test]
    fn version_dashed_version_name_and_prefix_resolve_to_same_position() {
        for text in [
            "20240102090000",
            "2024-01-02-090000",
            "2024-01-02-090000_create_posts",
            "20240102",
            "2024-01-02",
        ] {
            assert_eq!(at(text, 0).ok(), Some(2), "{text}");
        }
    }

    #[test]
    fn relative_targets_count_from_current() {
        assert_eq!(at("+1", 0).ok(), Some(1));
        assert_eq!(at("+2", 1).ok(), Some(3));
        assert_eq!(at("-1", 3).ok(), Some(2));
        assert_eq!(at("-3", 3).ok(), Some(0));
    }

    #[test]
    fn relative_targets_past_the_ends_are_errors() {
        let err = at("+4", 0).expect_err("past head").to_string();
        assert!(err.contains("`+4` is out of range"), "{err}");
        let err = at("-2", 1).expect_err("before base").to_string();
        assert!(err.contains("`-2` is out of range"), "{err}");
    }

    #[test]
    fn ambiguous_prefix_lists_candidates() {
        let err = at("2024-01", 0).expect_err("ambiguous").to_string();
        assert_eq!(
            err,
            "ambiguous target `2024-01`; candidates: 2024-01-01-120000_create_users, 2024-01-02-090000_create_posts"
        );
    }

    #[test]
    fn unknown_target_lists_near_candidates() {
        let err = at("posts", 0).expect_err("unknown").to_string();
        assert_eq!(
            err,
            "unknown target `posts`; candidates: 2024-01-02-090000_create_posts"
        );
        let err = at("2025", 0).expect_err("unknown").to_string();
        assert!(
            err.starts_with("unknown target `2025`; candidates: 2024-02-01-000000_add_index"),
            "{err}"
        );
    }

    #[test]
    fn malformed_targets_are_errors() {
        for text in ["", "+", "-x", "+1x", "a\nb"] {
            assert!(Target::parse(text).is_err(), "{text:?}");
        }
    }

    #[test]
    fn ranges_parse() {
        let range = Range::parse("base:+2").expect("range");
        assert_eq!(
            range.from.as_ref().map(Target::kind),
            Some(&TargetKind::Base)
        );
        assert_eq!(range.to.kind(), &TargetKind::Relative(2));
        assert_eq!(range.text(), "base:+2");
        let range = Range::parse("head").expect("target");
        assert_eq!(range.from, None);
        let err = Target::parse("a:b").expect_err("a range");
        assert!(err.to_string().contains("is a range"), "{err}");
        assert!(Range::parse("a:b:c").is_err());
        assert!(Range::parse(":head").is_err());
    }
}
