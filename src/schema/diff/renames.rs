//! Renames: the ones the user confirmed (`--rename-table`, `--rename`),
//! checked against both sides, and the drops and adds that look like one,
//! which are refused until the user says which they are.

use std::collections::BTreeMap;

use super::columns::same_type;
use super::{DiffError, DiffOptions, Matched, Rename, Sides};
use crate::model::printable;
use crate::schema::model::{Column, QualName, Schema, Table};

/// The confirmed table renames, new name -> old name.
pub(super) fn table_renames(
    sides: &Sides<'_>,
    options: &DiffOptions,
) -> Result<BTreeMap<QualName, QualName>, DiffError> {
    let (existing, wanted) = (&sides.existing, &sides.wanted);
    let mut renamed = BTreeMap::new();
    for rename in &options.renames {
        if let Rename::Table { old, new } = rename {
            if !existing.contains_key(old) || existing.contains_key(new) {
                return Err(DiffError::BadRename(format!(
                    "--rename-table {old}={}: the database has no table `{old}` in scope, or already has `{new}`",
                    new.name
                )));
            }
            if !wanted.contains_key(new) || wanted.contains_key(old) {
                return Err(DiffError::BadRename(format!(
                    "--rename-table {old}={}: schema.rs must have `{new}` and no longer `{old}`",
                    new.name
                )));
            }
            if old.schema != new.schema {
                return Err(DiffError::BadRename(format!(
                    "--rename-table {old}={new}: moving a table to another schema is not supported"
                )));
            }
            renamed.insert(new.clone(), old.clone());
        }
    }
    Ok(renamed)
}

/// A dropped and an added table of one schema with the same columns: one
/// message each, unless `--not-rename` names either.
pub(super) fn probable_tables(
    sides: &Sides<'_>,
    added: &[&QualName],
    dropped: &[&QualName],
    not_renamed: &dyn Fn(&str) -> bool,
) -> Vec<String> {
    let mut probable = Vec::new();
    for old in dropped {
        if not_renamed(&old.to_string()) {
            continue;
        }
        for new in added {
            if not_renamed(&new.to_string()) || old.schema != new.schema {
                continue;
            }
            if looks_like_same_table(sides.existing[old], sides.wanted[new], sides.database) {
                probable.push(format!(
                    "table `{old}` is gone from schema.rs and `{new}` is new with the same columns: a rename? pass --rename-table {old}={} to rename it, or --not-rename {old} to drop and create",
                    new.name
                ));
            }
        }
    }
    probable
}

/// Every `--rename TABLE.OLD=NEW` must name a matched table whose database
/// side has OLD and not NEW, and whose models have NEW and not OLD.
pub(super) fn check_column_renames(
    options: &DiffOptions,
    matched: &[Matched<'_>],
) -> Result<(), DiffError> {
    for rename in &options.renames {
        if let Rename::Column { table, old, new } = rename {
            let pair = matched
                .iter()
                .find(|(m, d)| m.name == *table || d.name == *table);
            let ok = pair.is_some_and(|(m, d)| {
                d.column(old).is_some()
                    && m.column(old).is_none()
                    && m.column(new).is_some()
                    && d.column(new).is_none()
            });
            if !ok {
                return Err(DiffError::BadRename(format!(
                    "--rename {table}.{old}={new}: the database's `{table}` must have `{old}` and not `{new}`, and schema.rs the other way round"
                )));
            }
        }
    }
    Ok(())
}

/// The confirmed column renames of a matched table, new name -> old name.
pub(super) fn column_renames<'o>(
    options: &'o DiffOptions,
    (model, db): Matched<'_>,
) -> BTreeMap<&'o str, &'o str> {
    options
        .renames
        .iter()
        .filter_map(|r| match r {
            Rename::Column { table: t, old, new } if *t == model.name || *t == db.name => {
                Some((new.as_str(), old.as_str()))
            }
            _ => None,
        })
        .collect()
}

/// A dropped and an added column of one table with the same type and
/// nullability: one message each, unless `--not-rename` names either.
pub(super) fn probable_columns(
    (model, db): Matched<'_>,
    added: &[&Column],
    dropped: &[&Column],
    database: &Schema,
    not_renamed: &dyn Fn(&str) -> bool,
) -> Vec<String> {
    let table = &model.name;
    let mut probable = Vec::new();
    for old in dropped {
        if not_renamed(&format!("{table}.{}", old.name))
            || not_renamed(&format!("{}.{}", db.name, old.name))
        {
            continue;
        }
        for new in added {
            if not_renamed(&format!("{table}.{}", new.name)) {
                continue;
            }
            if same_type(&new.ty, &old.ty, database) && new.nullable == old.nullable {
                probable.push(format!(
                    "column `{}.{}` is gone from schema.rs and `{table}.{}` is new with the same type: a rename? pass --rename {table}.{}={} to rename it, or --not-rename {table}.{} to drop and add",
                    db.name,
                    printable(&old.name),
                    printable(&new.name),
                    printable(&old.name),
                    printable(&new.name),
                    printable(&old.name)
                ));
            }
        }
    }
    probable
}

fn looks_like_same_table(db: &Table, model: &Table, database: &Schema) -> bool {
    db.columns.len() == model.columns.len()
        && model.columns.iter().all(|m| {
            db.column(&m.name)
                .is_some_and(|d| same_type(&m.ty, &d.ty, database))
        })
}
