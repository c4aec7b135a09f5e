//! The keys of a table both sides have: a changed primary key is dropped and
//! added again (refused while other tables reference it), and a foreign key
//! `joinable!` states is added when the database lacks it. Keys `schema.rs`
//! does not state are kept.

use std::collections::BTreeMap;

use super::{DiffError, Op};
use crate::model::printable;
use crate::schema::model::{QualName, Schema, Table};

/// The primary key of `model` against `db`'s, compared in the models' column
/// names (`column_renames`: new -> old).
pub(super) fn primary_key(
    database: &Schema,
    model: &Table,
    db: &Table,
    column_renames: &BTreeMap<&str, &str>,
    ops: &mut Vec<Op>,
) -> Result<(), DiffError> {
    let table = &model.name;
    let new_key = model.primary_key.as_ref().map(|pk| pk.columns.clone());
    let db_key: Option<Vec<String>> = db.primary_key.as_ref().map(|pk| {
        pk.columns
            .iter()
            .map(|c| {
                column_renames
                    .iter()
                    .find(|(_, o)| **o == c)
                    .map_or_else(|| c.clone(), |(n, _)| n.to_string())
            })
            .collect()
    });
    if new_key == db_key {
        return Ok(());
    }
    if let (Some(old_pk), Some(_)) = (&db.primary_key, &new_key) {
        let referencing: Vec<String> = database
            .tables
            .values()
            .flat_map(|t| t.foreign_keys.iter().map(move |fk| (t, fk)))
            .filter(|(_, fk)| {
                fk.references == db.name
                    && (fk.referenced_columns.is_empty() || fk.referenced_columns == old_pk.columns)
            })
            .map(|(t, fk)| format!("`{}` from `{}`", printable(&fk.name), t.name))
            .collect();
        if !referencing.is_empty() {
            return Err(DiffError::Unsupported(format!(
                "the primary key of `{}` changes from ({}) to ({}), but foreign key(s) {} reference it: change it by hand in a revision of its own",
                db.name,
                old_pk.columns.join(", "),
                new_key.clone().unwrap_or_default().join(", "),
                referencing.join(", ")
            )));
        }
    }
    if let Some(old_pk) = &db.primary_key {
        ops.push(Op::DropPrimaryKey {
            table: table.clone(),
            pk: old_pk.clone(),
        });
    }
    if let Some(pk) = &model.primary_key {
        ops.push(Op::AddPrimaryKey {
            table: table.clone(),
            pk: pk.clone(),
        });
    }
    Ok(())
}

/// Foreign keys the models add (`joinable!`) that `db` does not have, to
/// the referenced table under its new or its old name (`renamed`: new ->
/// old); `db_name_of` gives a model column's database name.
pub(super) fn added_foreign_keys(
    model: &Table,
    db: &Table,
    renamed: &BTreeMap<QualName, QualName>,
    db_name_of: &dyn Fn(&str) -> String,
    ops: &mut Vec<Op>,
) {
    for fk in &model.foreign_keys {
        let db_columns: Vec<String> = fk.columns.iter().map(|c| db_name_of(c)).collect();
        let target_old = renamed.get(&fk.references).unwrap_or(&fk.references);
        let present = db.foreign_keys.iter().any(|d| {
            d.columns == db_columns
                && (d.references == fk.references || d.references == *target_old)
        });
        if !present {
            ops.push(Op::AddForeignKey {
                table: model.name.clone(),
                fk: fk.clone(),
            });
        }
    }
}
