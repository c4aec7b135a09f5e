//! Whole tables: the two sides restricted to the scopes, new tables created
//! parents first, dropped tables dropped children first (with every foreign
//! key into them dropped before).

use std::collections::{BTreeMap, BTreeSet};

use super::{DiffError, Matched, Notice, Op, Sides, Work};
use crate::model::printable;
use crate::schema::config::Scope;
use crate::schema::model::{QualName, Schema, Table};

/// The tables each side has in scope. Left out, with a notice: a model
/// table outside every scope, one that is a view in the database, and a
/// database table without a primary key (which `schema.rs` cannot describe)
/// that the models do not name.
pub(super) fn sides<'a>(
    models: &'a Schema,
    scopes: &'a [Scope],
    database: &'a Schema,
    notices: &mut Vec<Notice>,
) -> Sides<'a> {
    let in_scope = |name: &QualName| scopes.iter().any(|s| s.covers(name));
    let wanted: BTreeMap<&QualName, &Table> = models
        .tables
        .iter()
        .filter(|(name, _)| {
            if !in_scope(name) {
                notices.push(Notice::OutsideScope {
                    table: (*name).clone(),
                });
                return false;
            }
            if database.views.contains(name) {
                notices.push(Notice::View {
                    table: (*name).clone(),
                });
                return false;
            }
            true
        })
        .collect();
    let existing: BTreeMap<&QualName, &Table> = database
        .tables
        .iter()
        .filter(|(name, table)| {
            if !in_scope(name) {
                return false;
            }
            if table.primary_key.is_none() && !wanted.contains_key(name) {
                notices.push(Notice::NoPrimaryKey {
                    table: (*name).clone(),
                });
                return false;
            }
            true
        })
        .collect();
    Sides {
        models,
        database,
        scopes,
        wanted,
        existing,
    }
}

/// `CREATE TABLE` for each of `added`, parents first; a foreign key to a
/// new table created later (a cycle) is added after that table.
pub(super) fn create(sides: &Sides<'_>, added: &[&QualName], ops: &mut Vec<Op>) {
    let new_tables: Vec<&Table> = added.iter().map(|n| sides.wanted[n]).collect();
    let mut created: BTreeSet<QualName> = BTreeSet::new();
    for table in dependency_order(&new_tables) {
        let mut t = table.clone();
        let mut later = Vec::new();
        t.foreign_keys.retain(|fk| {
            let parent_ready = created.contains(&fk.references)
                || fk.references == t.name
                || (!added.contains(&&fk.references));
            if !parent_ready {
                later.push(fk.clone());
            }
            parent_ready
        });
        created.insert(t.name.clone());
        ops.push(Op::CreateTable { table: t.clone() });
        for fk in later {
            ops.push(Op::AddForeignKey {
                table: t.name.clone(),
                fk,
            });
        }
    }
}

/// `DROP TABLE` for each of `dropped`, children first, after dropping the
/// foreign keys from them and into them (and into the columns dropped from
/// matched tables). A key from a table outside the filter is refused: dmig
/// does not touch that table.
pub(super) fn drop(
    sides: &Sides<'_>,
    dropped: &[&QualName],
    matched: &[Matched<'_>],
    work: &mut Work,
) -> Result<(), DiffError> {
    let dropped_set: BTreeSet<&QualName> = dropped.iter().copied().collect();
    for name in dropped {
        let table = sides.existing[name];
        for fk in &table.foreign_keys {
            work.fk_drops.push((table.name.clone(), fk.clone()));
        }
    }
    // Foreign keys from other tables into what goes away.
    for (child_name, child) in &sides.database.tables {
        if dropped_set.contains(child_name) {
            continue;
        }
        for fk in &child.foreign_keys {
            let into_dropped_table = dropped_set.contains(&fk.references);
            let into_dropped_column = work
                .dropped_columns
                .iter()
                .any(|(t, c)| *t == fk.references && (fk.referenced_columns.contains(c)));
            if into_dropped_table || into_dropped_column {
                if !sides.in_scope(child_name) {
                    return Err(DiffError::Unsupported(format!(
                        "`{}` is referenced by foreign key `{}` of `{child_name}`, a table outside the schema.rs filter: drop that key by hand first",
                        fk.references,
                        printable(&fk.name)
                    )));
                }
                let current = matched
                    .iter()
                    .find(|(_, d)| d.name == *child_name)
                    .map_or_else(|| child_name.clone(), |(m, _)| m.name.clone());
                work.fk_drops.push((current, fk.clone()));
            }
        }
    }
    let mut fk_drops = std::mem::take(&mut work.fk_drops);
    fk_drops.sort_by(|a, b| (&a.0, &a.1.name).cmp(&(&b.0, &b.1.name)));
    fk_drops.dedup();
    for (table, fk) in fk_drops {
        work.ops.push(Op::DropForeignKey { table, fk });
    }
    let to_drop: Vec<&Table> = dropped.iter().map(|n| sides.existing[n]).collect();
    let mut drop_order = dependency_order(&to_drop);
    drop_order.reverse();
    for table in drop_order {
        work.ops.push(Op::DropTable {
            table: table.clone(),
        });
    }
    Ok(())
}

/// Tables ordered so that every table comes after the tables its foreign
/// keys reference (among `tables`); ties and cycles broken by name.
fn dependency_order<'a>(tables: &[&'a Table]) -> Vec<&'a Table> {
    let names: BTreeSet<&QualName> = tables.iter().map(|t| &t.name).collect();
    let mut remaining: BTreeMap<&QualName, &Table> = tables.iter().map(|t| (&t.name, *t)).collect();
    let mut done: BTreeSet<&QualName> = BTreeSet::new();
    let mut out = Vec::new();
    while !remaining.is_empty() {
        let ready = remaining
            .iter()
            .find(|(_, t)| {
                t.foreign_keys.iter().all(|fk| {
                    fk.references == t.name
                        || !names.contains(&fk.references)
                        || done.contains(&fk.references)
                })
            })
            .map(|(n, _)| *n);
        // A cycle: take the first by name; its back references are added later.
        let next = ready.unwrap_or_else(|| *remaining.keys().next().expect("not empty"));
        let table = remaining.remove(next).expect("present");
        done.insert(&table.name);
        out.push(table);
    }
    out
}
