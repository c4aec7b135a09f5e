//! A table both sides have: its renames, new, changed and dropped columns,
//! then its keys ([`super::keys`]); and the constraints and indexes
//! PostgreSQL drops with a column, kept so `down.sql` restores them.

use std::collections::{BTreeMap, BTreeSet};

use super::{keys, renames, DiffError, DiffOptions, Matched, Notice, Op, Sides, Work};
use crate::schema::model::{BaseType, Column, ColumnType, Modifier, QualName, Schema, Table};
use crate::schema::types;

/// Whether a column type in the models means the same as the database's:
/// PostgreSQL names after Diesel's aliases, a domain as itself or its base,
/// a length only when `schema.rs` states one.
pub fn same_type(model: &ColumnType, db: &ColumnType, database: &Schema) -> bool {
    if model.array != db.array {
        return false;
    }
    let named_matches_builtin =
        |n: &QualName, t: &str| n.name == t && matches!(n.schema.as_str(), "public" | "pg_catalog");
    match (&model.base, &db.base) {
        (BaseType::Builtin(m), BaseType::Builtin(d)) => {
            types::family(m) == types::family(d)
                && match model.modifier {
                    Some(Modifier::Length(n)) => db.modifier == Some(Modifier::Length(n)),
                    _ => true,
                }
        }
        (BaseType::Named(m), BaseType::Builtin(d)) => named_matches_builtin(m, d),
        (_, BaseType::Named(d)) => {
            if model.base == db.base {
                return true;
            }
            match database.domains.get(d) {
                Some(domain) => {
                    let mut base = domain.base.clone();
                    base.array = db.array || base.array;
                    same_type(model, &base, database)
                }
                None => false,
            }
        }
    }
}

fn is_integer(ty: &ColumnType) -> bool {
    !ty.array
        && matches!(&ty.base, BaseType::Builtin(t) if matches!(t.as_str(), "int2" | "int4" | "int8"))
}

/// Everything that changes in the matched table `model` / `db`: a table
/// rename, column renames, added, altered and dropped columns, the primary
/// key and the foreign keys `joinable!` adds. Probable column renames go to
/// `work.probable`; `renamed` maps new table names to old ones.
pub(super) fn diff_table(
    sides: &Sides<'_>,
    options: &DiffOptions,
    renamed: &BTreeMap<QualName, QualName>,
    model: &Table,
    db: &Table,
    not_renamed: &dyn Fn(&str) -> bool,
    work: &mut Work,
) -> Result<(), DiffError> {
    let database = sides.database;
    if model.name != db.name {
        work.ops.push(Op::RenameTable {
            from: db.name.clone(),
            to: model.name.clone(),
        });
    }
    let table = &model.name;
    let column_renames = renames::column_renames(options, (model, db));
    for (new, old) in &column_renames {
        work.ops.push(Op::RenameColumn {
            table: table.clone(),
            from: old.to_string(),
            to: new.to_string(),
        });
    }
    let db_name_of = |model_col: &str| -> String {
        column_renames
            .get(model_col)
            .map_or_else(|| model_col.to_string(), |o| o.to_string())
    };
    // The key after this revision, to know whether a new column is it.
    let new_key = model.primary_key.as_ref().map(|pk| pk.columns.clone());
    let added_cols: Vec<&Column> = model
        .columns
        .iter()
        .filter(|c| db.column(&db_name_of(&c.name)).is_none())
        .collect();
    let dropped_cols: Vec<&Column> = db
        .columns
        .iter()
        .filter(|c| {
            model.column(&c.name).is_none() && !column_renames.values().any(|o| *o == c.name)
        })
        .collect();
    work.probable.extend(renames::probable_columns(
        (model, db),
        &added_cols,
        &dropped_cols,
        database,
        not_renamed,
    ));
    for column in &model.columns {
        let db_name = db_name_of(&column.name);
        match db.column(&db_name) {
            None => {
                let identity = new_key.as_deref() == Some(std::slice::from_ref(&column.name))
                    && is_integer(&column.ty)
                    && !column.serial;
                if !column.nullable {
                    work.notices.push(Notice::NotNullOnExisting {
                        table: table.clone(),
                        column: column.name.clone(),
                        new_column: true,
                    });
                }
                work.ops.push(Op::AddColumn {
                    table: table.clone(),
                    column: column.clone(),
                    identity,
                });
            }
            Some(existing_col) => {
                if !same_type(&column.ty, &existing_col.ty, database) {
                    work.ops.push(Op::AlterColumnType {
                        table: table.clone(),
                        column: column.name.clone(),
                        from: existing_col.ty.clone(),
                        to: column.ty.clone(),
                    });
                }
                if column.nullable != existing_col.nullable {
                    if column.nullable {
                        work.ops.push(Op::DropNotNull {
                            table: table.clone(),
                            column: column.name.clone(),
                        });
                    } else {
                        work.notices.push(Notice::NotNullOnExisting {
                            table: table.clone(),
                            column: column.name.clone(),
                            new_column: false,
                        });
                        work.ops.push(Op::SetNotNull {
                            table: table.clone(),
                            column: column.name.clone(),
                        });
                    }
                }
            }
        }
    }
    keys::primary_key(database, model, db, &column_renames, &mut work.ops)?;
    keys::added_foreign_keys(model, db, renamed, &db_name_of, &mut work.ops);
    for old in dropped_cols {
        work.dropped_columns
            .push((db.name.clone(), old.name.clone()));
        for fk in &db.foreign_keys {
            if fk.columns.contains(&old.name) {
                work.fk_drops.push((table.clone(), fk.clone()));
            }
        }
        work.ops.push(Op::DropColumn {
            table: table.clone(),
            column: old.clone(),
            constraints: Vec::new(),
            indexes: Vec::new(),
        });
    }
    Ok(())
}

/// Give each `DropColumn` the constraints and indexes PostgreSQL drops with
/// its column, so its inverse restores them: each goes to the first drop (in
/// up order) that takes it.
pub(super) fn claim_dropped_objects(matched: &[Matched<'_>], ops: &mut [Op]) {
    let mut claimed: BTreeSet<(QualName, String)> = BTreeSet::new();
    for op in ops.iter_mut() {
        if let Op::DropColumn {
            table,
            column,
            constraints,
            indexes,
        } = op
        {
            let db_table = matched
                .iter()
                .find(|(m, _)| m.name == *table)
                .map(|(_, d)| *d);
            if let Some(db_table) = db_table {
                for c in &db_table.other_constraints {
                    if c.columns.contains(&column.name)
                        && claimed.insert((db_table.name.clone(), c.name.clone()))
                    {
                        constraints.push(c.clone());
                    }
                }
                for i in &db_table.indexes {
                    if i.columns.contains(&column.name)
                        && claimed.insert((db_table.name.clone(), i.name.clone()))
                    {
                        indexes.push(i.clone());
                    }
                }
            }
        }
    }
}
