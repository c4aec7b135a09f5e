//! The one diff: what the models say against what the database has, as a
//! list of operations in the fixed order [`Op::stage`] gives.
//!
//! Rules, each a promise to the user:
//! - what `schema.rs` cannot express (defaults, identity vs serial, uniques,
//!   indexes, checks, foreign key actions, a precision or length it does not
//!   state) is never a change and never dropped;
//! - tables outside the scopes (the `[print_schema]` schema and filter) are
//!   never touched;
//! - a drop that looks like a rename is refused until the user says which;
//! - destructive operations are refused unless allowed.
//!
//! One file per concern: `tables` (the two sides in scope, new tables
//! parents first, dropped tables children first), `renames` (confirmed and
//! probable renames), `columns` and `keys` (a table both sides have),
//! `enums`, `ops` (the operations and their order) and `snapshot`
//! (snapshots compared for `--verify`). This module runs them in order.

mod columns;
mod enums;
mod keys;
mod ops;
mod renames;
mod snapshot;
mod tables;

use std::collections::BTreeMap;

use super::config::Scope;
use super::model::{ForeignKey, QualName, Schema, Table};

pub use columns::same_type;
pub use ops::{EnumUser, Op, Position};
pub use snapshot::snapshot_differences;

/// A rename the user confirmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rename {
    /// `--rename-table OLD=NEW`.
    Table {
        /// The name in the database.
        old: QualName,
        /// The name in `schema.rs`.
        new: QualName,
    },
    /// `--rename TABLE.OLD=NEW` (TABLE as in `schema.rs`, or the old name).
    Column {
        /// The table.
        table: QualName,
        /// The column's name in the database.
        old: String,
        /// Its name in `schema.rs`.
        new: String,
    },
}

/// What the user allows.
#[derive(Debug, Clone, Default)]
pub struct DiffOptions {
    /// `--allow-destructive`.
    pub allow_destructive: bool,
    /// `--rename` / `--rename-table`.
    pub renames: Vec<Rename>,
    /// `--not-rename NAME`: `table` or `table.column`, old or new name.
    pub not_renames: Vec<String>,
    /// `server_version_num` of the server the revision is for: below 12,
    /// `ALTER TYPE ... ADD VALUE` cannot run in a transaction.
    pub server_version_num: i32,
}

/// Something worth telling the user about a diff that is not refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// A new `NOT NULL` column (or `SET NOT NULL`) on an existing table: it
    /// fails when the table has rows (or NULLs); the online run counts them.
    NotNullOnExisting {
        /// The table.
        table: QualName,
        /// The column.
        column: String,
        /// `true`: a new column; `false`: `SET NOT NULL` on an existing one.
        new_column: bool,
    },
    /// A table in `schema.rs` outside every scope: left alone.
    OutsideScope {
        /// The table.
        table: QualName,
    },
    /// A `table!` that is a view in the database: left alone.
    View {
        /// The view.
        table: QualName,
    },
    /// A table without a primary key, which `schema.rs` cannot describe
    /// (print-schema skips it): left alone, never dropped.
    NoPrimaryKey {
        /// The table.
        table: QualName,
    },
}

/// Why a diff is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DiffError {
    /// Destructive operations without `--allow-destructive`.
    #[error("refusing destructive changes (pass --allow-destructive to write them):\n  {}", .0.join("\n  "))]
    Destructive(Vec<String>),
    /// A drop and an add that look like a rename.
    #[error("{}", .0.join("\n"))]
    ProbableRename(Vec<String>),
    /// Something the diff cannot do safely.
    #[error("{0}")]
    Unsupported(String),
    /// A `--rename` that names nothing to rename.
    #[error("{0}")]
    BadRename(String),
}

/// The result of a diff.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diff {
    /// Operations in execution order.
    pub ops: Vec<Op>,
    /// Things to tell the user.
    pub notices: Vec<Notice>,
    /// The revision must run outside a transaction (`ADD VALUE` on PostgreSQL < 12).
    pub non_transactional: bool,
}

impl Diff {
    /// Nothing to change.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}

/// The two sides of a diff, each restricted to the scopes.
struct Sides<'a> {
    /// Everything the models declare.
    models: &'a Schema,
    /// Everything the database has (tables outside the scopes included:
    /// their foreign keys and enum columns matter).
    database: &'a Schema,
    scopes: &'a [Scope],
    /// The models' tables in scope that are not views in the database.
    wanted: BTreeMap<&'a QualName, &'a Table>,
    /// The database's tables in scope that `schema.rs` can describe.
    existing: BTreeMap<&'a QualName, &'a Table>,
}

impl Sides<'_> {
    /// Whether `name` is inside one of the scopes.
    fn in_scope(&self, name: &QualName) -> bool {
        self.scopes.iter().any(|s| s.covers(name))
    }
}

/// A table both sides have: (the models', the database's).
type Matched<'a> = (&'a Table, &'a Table);

/// What the steps of a diff build up.
#[derive(Default)]
struct Work {
    /// Operations in the order they were found (sorted by stage at the end).
    ops: Vec<Op>,
    notices: Vec<Notice>,
    /// Probable renames, refused together once every table is looked at.
    probable: Vec<String>,
    /// Foreign keys to drop: (referencing table, as named after renames; key).
    fk_drops: Vec<(QualName, ForeignKey)>,
    /// Columns dropped from matched tables: (database table name, column).
    dropped_columns: Vec<(QualName, String)>,
    non_transactional: bool,
}

/// Compare `models` (inside `scopes`) with `database` and list what to do.
pub fn diff(
    models: &Schema,
    scopes: &[Scope],
    database: &Schema,
    options: &DiffOptions,
) -> Result<Diff, DiffError> {
    let mut work = Work::default();
    let sides = tables::sides(models, scopes, database, &mut work.notices);
    let renamed = renames::table_renames(&sides, options)?;
    let not_renamed = |name: &str| options.not_renames.iter().any(|n| n == name);
    let added: Vec<&QualName> = sides
        .wanted
        .keys()
        .copied()
        .filter(|n| !sides.existing.contains_key(n) && !renamed.contains_key(*n))
        .collect();
    let dropped: Vec<&QualName> = sides
        .existing
        .keys()
        .copied()
        .filter(|n| !sides.wanted.contains_key(n) && !renamed.values().any(|o| o == *n))
        .collect();
    work.probable.extend(renames::probable_tables(
        &sides,
        &added,
        &dropped,
        &not_renamed,
    ));

    let mut matched: Vec<Matched<'_>> = Vec::new();
    for (name, table) in &sides.wanted {
        let old = renamed.get(*name).unwrap_or(name);
        if let Some(db) = sides.existing.get(old) {
            matched.push((table, db));
        }
    }
    renames::check_column_renames(options, &matched)?;
    for (model, db) in &matched {
        columns::diff_table(
            &sides,
            options,
            &renamed,
            model,
            db,
            &not_renamed,
            &mut work,
        )?;
    }
    if !work.probable.is_empty() {
        return Err(DiffError::ProbableRename(work.probable));
    }

    tables::create(&sides, &added, &mut work.ops);
    tables::drop(&sides, &dropped, &matched, &mut work)?;
    let enum_ops = enums::enum_ops(&sides, options, &mut work.non_transactional)?;
    work.ops.extend(enum_ops);
    columns::claim_dropped_objects(&matched, &mut work.ops);

    // Stable order: by stage, keeping the order built above within a stage.
    let mut ops = work.ops;
    ops.sort_by_key(Op::stage);
    let destructive: Vec<String> = ops.iter().filter_map(Op::destructive).collect();
    if !destructive.is_empty() && !options.allow_destructive {
        return Err(DiffError::Destructive(destructive));
    }
    Ok(Diff {
        ops,
        notices: work.notices,
        non_transactional: work.non_transactional,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::config::Filter;
    use crate::schema::model::{Column, ColumnType, PrimaryKey};

    fn table(name: &str, columns: &[(&str, &str)]) -> Table {
        let mut t = Table::new(QualName::new("public", name));
        for (c, ty) in columns {
            t.columns
                .push(Column::new(*c, ColumnType::builtin(ty), false));
        }
        t.primary_key = Some(PrimaryKey {
            name: format!("{name}_pkey"),
            columns: vec!["id".into()],
        });
        t
    }

    fn schema(tables: Vec<Table>) -> Schema {
        let mut s = Schema::default();
        for t in tables {
            s.tables.insert(t.name.clone(), t);
        }
        s
    }

    #[test]
    fn tables_outside_the_filter_are_never_touched() {
        let models = schema(vec![table("users", &[("id", "int4")])]);
        let database = schema(vec![
            table("users", &[("id", "int4")]),
            table("background_jobs", &[("id", "int8")]),
        ]);
        let scope = Scope {
            schema: "public".into(),
            filter: Filter::Except(vec![regex::Regex::new("^background_jobs$").expect("regex")]),
        };
        let d = diff(&models, &[scope], &database, &DiffOptions::default()).expect("diff");
        assert!(d.is_empty(), "{:?}", d.ops);
        // Without the filter it would be a drop, refused as destructive.
        let err = diff(
            &models,
            &[Scope::public()],
            &database,
            &DiffOptions::default(),
        )
        .expect_err("drop");
        assert_eq!(
            err,
            DiffError::Destructive(vec!["drop table `background_jobs`".into()])
        );
    }

    #[test]
    fn views_and_tables_without_a_key_are_left_alone() {
        let mut models = schema(vec![table("users", &[("id", "int4")])]);
        models.tables.insert(
            QualName::new("public", "active_users"),
            table("active_users", &[("id", "int4")]),
        );
        let mut keyless = table("audit_log", &[("id", "int8")]);
        keyless.primary_key = None;
        let mut database = schema(vec![table("users", &[("id", "int4")]), keyless]);
        database
            .views
            .insert(QualName::new("public", "active_users"));
        let d = diff(
            &models,
            &[Scope::public()],
            &database,
            &DiffOptions::default(),
        )
        .expect("diff");
        assert!(d.is_empty(), "{:?}", d.ops);
        assert_eq!(
            d.notices,
            [
                Notice::View {
                    table: QualName::new("public", "active_users")
                },
                Notice::NoPrimaryKey {
                    table: QualName::new("public", "audit_log")
                }
            ]
        );
    }

    #[test]
    fn a_type_change_is_alter_type_and_narrowing_is_destructive() {
        let models = schema(vec![table(
            "t",
            &[("id", "int4"), ("n", "int8"), ("m", "int2")],
        )]);
        let database = schema(vec![table(
            "t",
            &[("id", "int4"), ("n", "int4"), ("m", "int4")],
        )]);
        let err = diff(
            &models,
            &[Scope::public()],
            &database,
            &DiffOptions::default(),
        )
        .expect_err("narrowing");
        let DiffError::Destructive(list) = err else {
            panic!("{err}");
        };
        assert_eq!(list.len(), 1);
        assert!(list[0].contains("`t.m` from"), "{list:?}");
        let options = DiffOptions {
            allow_destructive: true,
            ..DiffOptions::default()
        };
        let d = diff(&models, &[Scope::public()], &database, &options).expect("diff");
        assert_eq!(d.ops.len(), 2);
        assert!(d
            .ops
            .iter()
            .all(|op| matches!(op, Op::AlterColumnType { .. })));
    }
}
