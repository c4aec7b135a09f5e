//! Enum types: created when new, extended in place when the models only add
//! values (`ADD VALUE ... BEFORE/AFTER`), recreated when values go or move,
//! dropped when only dropped tables and columns used them. Every named type
//! a model column uses must exist by the time it is used.

use std::collections::BTreeSet;

use super::{DiffError, DiffOptions, EnumUser, Op, Position, Sides};
use crate::model::printable;
use crate::schema::model::{BaseType, QualName, Schema};

/// The enum operations, in the models' order, then the drops. `ADD VALUE`
/// on a server before 12 sets `non_transactional`.
pub(super) fn enum_ops(
    sides: &Sides<'_>,
    options: &DiffOptions,
    non_transactional: &mut bool,
) -> Result<Vec<Op>, DiffError> {
    let (models, database) = (sides.models, sides.database);
    let users_of = |name: &QualName| users(database, name);
    let mut enum_ops = Vec::new();
    for (name, wanted_enum) in &models.enums {
        let Some(labels) = &wanted_enum.labels else {
            continue;
        };
        match database.enums.get(name).and_then(|e| e.labels.clone()) {
            None => enum_ops.push(Op::CreateEnum {
                name: name.clone(),
                labels: labels.clone(),
            }),
            Some(old) if old == *labels => {}
            Some(old) if is_subsequence(&old, labels) => {
                if options.server_version_num < 120_000 {
                    *non_transactional = true;
                }
                enum_ops.push(Op::ExtendEnum {
                    name: name.clone(),
                    additions: additions(&old, labels),
                    old_labels: old,
                    users: users_of(name),
                });
            }
            Some(old) => enum_ops.push(Op::RecreateEnum {
                name: name.clone(),
                old_labels: old,
                new_labels: labels.clone(),
                users: users_of(name),
            }),
        }
    }
    check_named_types(sides)?;
    enum_ops.extend(drops(sides));
    Ok(enum_ops)
}

/// The columns of every table that use the type `name`.
fn users(database: &Schema, name: &QualName) -> Vec<EnumUser> {
    let mut users = Vec::new();
    for (table_name, table) in &database.tables {
        for column in &table.columns {
            if column.ty.base == BaseType::Named(name.clone()) {
                users.push(EnumUser {
                    table: table_name.clone(),
                    column: column.name.clone(),
                    array: column.ty.array,
                    default: column.default.clone(),
                });
            }
        }
    }
    users
}

/// Where each new label of `labels` goes among the `old` ones: before the
/// next old label, else after the one before it.
fn additions(old: &[String], labels: &[String]) -> Vec<(String, Position)> {
    let mut additions = Vec::new();
    for (i, label) in labels.iter().enumerate() {
        if old.contains(label) {
            continue;
        }
        let next_existing = labels[i + 1..].iter().find(|l| old.contains(l));
        let position = match (next_existing, i.checked_sub(1)) {
            (Some(next), _) => Position::Before(next.clone()),
            (None, Some(prev)) => Position::After(labels[prev].clone()),
            (None, None) => Position::End,
        };
        additions.push((label.clone(), position));
    }
    additions
}

/// Refuse a model column whose named type neither side can provide.
fn check_named_types(sides: &Sides<'_>) -> Result<(), DiffError> {
    let (models, database) = (sides.models, sides.database);
    for table in sides.wanted.values() {
        for column in &table.columns {
            if let BaseType::Named(n) = &column.ty.base {
                let known = n.schema == "pg_catalog"
                    || database.enums.contains_key(n)
                    || database.domains.contains_key(n)
                    || models.enums.get(n).is_some_and(|e| e.labels.is_some())
                    || database_has_type(database, n);
                if !known {
                    return Err(DiffError::Unsupported(format!(
                        "column `{}.{}` has type `{n}`, which the database does not have and the schema files give no labels for (derive `DbEnum` for it, or create the type in a revision)",
                        table.name,
                        printable(&column.name)
                    )));
                }
            }
        }
    }
    Ok(())
}

/// Enums only the dropped tables and columns used, and the models do not name.
fn drops(sides: &Sides<'_>) -> Vec<Op> {
    let (models, database) = (sides.models, sides.database);
    let used_after: BTreeSet<QualName> = sides
        .wanted
        .values()
        .flat_map(|t| t.columns.iter())
        .chain(
            database
                .tables
                .iter()
                .filter(|(n, _)| !sides.in_scope(n))
                .flat_map(|(_, t)| t.columns.iter()),
        )
        .filter_map(|c| match &c.ty.base {
            BaseType::Named(n) => Some(n.clone()),
            BaseType::Builtin(_) => None,
        })
        .collect();
    let used_before: BTreeSet<QualName> = sides
        .existing
        .values()
        .flat_map(|t| t.columns.iter())
        .filter_map(|c| match &c.ty.base {
            BaseType::Named(n) => Some(n.clone()),
            BaseType::Builtin(_) => None,
        })
        .collect();
    database
        .enums
        .iter()
        .filter(|(name, _)| {
            used_before.contains(*name)
                && !used_after.contains(*name)
                && !models.enums.contains_key(*name)
        })
        .map(|(name, db_enum)| Op::DropEnum {
            name: name.clone(),
            labels: db_enum.labels.clone().unwrap_or_default(),
        })
        .collect()
}

/// Types the catalogs list as columns' types elsewhere (extension types).
fn database_has_type(database: &Schema, name: &QualName) -> bool {
    database.tables.values().any(|t| {
        t.columns
            .iter()
            .any(|c| c.ty.base == BaseType::Named(name.clone()))
    })
}

fn is_subsequence(small: &[String], big: &[String]) -> bool {
    let mut it = big.iter();
    small.iter().all(|s| it.any(|b| b == s))
}
