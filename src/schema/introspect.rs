//! Reading the database side: the catalog queries as SQL text, the plain
//! rows they return, and a pure conversion of those rows into the
//! [`Schema`] model. Running the queries is the online layer's job
//! (`crate::online::introspect`); nothing here connects.
//!
//! Left out on purpose: objects an extension owns (a `pg_depend` row with
//! `deptype = 'e'`, e.g. PostGIS's `spatial_ref_sys`), partitions (their
//! parent stands for them), views, Diesel's `__diesel_schema_migrations` and
//! dmig's own `__dmig_*` tables.

use std::collections::BTreeMap;

use super::model::{
    BaseType, Column, ColumnType, Constraint, Domain, EnumType, ForeignKey, Identity, Index,
    Modifier, PrimaryKey, QualName, Schema, Table,
};
use crate::dialect::VERSION_TABLE;

/// Schemas that are PostgreSQL's own.
const SYSTEM_SCHEMAS: &str = "n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'";

/// `server_version_num`.
pub const SERVER_VERSION_SQL: &str =
    "SELECT current_setting('server_version_num')::int4 AS version";

/// One row per relation: [`RelationRow`].
pub fn relations_sql() -> String {
    format!(
        "SELECT c.oid::int8 AS oid, n.nspname::text AS schema, c.relname::text AS name, \
         c.relkind::text AS kind, c.relispartition AS is_partition, \
         EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e') AS extension_owned \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND {SYSTEM_SCHEMAS} \
         ORDER BY n.nspname, c.relname"
    )
}

/// One row per column of a table: [`ColumnRow`].
pub fn columns_sql() -> String {
    format!(
        "SELECT a.attrelid::int8 AS table_oid, a.attnum::int4 AS num, a.attname::text AS name, \
         format_type(a.atttypid, a.atttypmod) AS sql_type, \
         (t.typcategory = 'A' AND t.typelem <> 0) AS is_array, \
         et.typname::text AS type_name, etn.nspname::text AS type_schema, \
         a.atttypmod::int4 AS typmod, a.attnotnull AS not_null, \
         pg_get_expr(ad.adbin, ad.adrelid) AS default_expr, \
         a.attidentity::text AS identity, a.attgenerated::text AS generated, \
         EXISTS (SELECT 1 FROM pg_depend dep JOIN pg_class s ON s.oid = dep.objid AND s.relkind = 'S' \
                 WHERE dep.classid = 'pg_class'::regclass AND dep.refclassid = 'pg_class'::regclass \
                   AND dep.refobjid = a.attrelid AND dep.refobjsubid = a.attnum AND dep.deptype = 'a') AS owns_sequence \
         FROM pg_attribute a \
         JOIN pg_class c ON c.oid = a.attrelid AND c.relkind IN ('r', 'p') \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         JOIN pg_type t ON t.oid = a.atttypid \
         JOIN pg_type et ON et.oid = CASE WHEN t.typcategory = 'A' AND t.typelem <> 0 THEN t.typelem ELSE t.oid END \
         JOIN pg_namespace etn ON etn.oid = et.typnamespace \
         LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum \
         WHERE a.attnum > 0 AND NOT a.attisdropped AND {SYSTEM_SCHEMAS} \
         ORDER BY a.attrelid, a.attnum"
    )
}

/// One row per constraint of a table: [`ConstraintRow`].
pub fn constraints_sql() -> String {
    format!(
        "SELECT con.conrelid::int8 AS table_oid, con.conname::text AS name, con.contype::text AS kind, \
         pg_get_constraintdef(con.oid) AS definition, \
         ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(num, ord) \
               JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.num ORDER BY k.ord) AS columns, \
         rn.nspname::text AS ref_schema, rc.relname::text AS ref_table, \
         ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(num, ord) \
               JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.num ORDER BY k.ord) AS ref_columns \
         FROM pg_constraint con \
         JOIN pg_class c ON c.oid = con.conrelid AND c.relkind IN ('r', 'p') \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         LEFT JOIN pg_class rc ON rc.oid = con.confrelid \
         LEFT JOIN pg_namespace rn ON rn.oid = rc.relnamespace \
         WHERE con.contype IN ('p', 'f', 'u', 'c', 'x') AND con.conparentid = 0 AND {SYSTEM_SCHEMAS} \
         ORDER BY con.conrelid, con.conname"
    )
}

/// One row per index that backs no constraint: [`IndexRow`].
pub fn indexes_sql() -> String {
    format!(
        "SELECT i.indrelid::int8 AS table_oid, ic.relname::text AS name, pg_get_indexdef(i.indexrelid) AS definition, \
         ARRAY(SELECT a.attname::text FROM unnest(i.indkey::int2[]) k(num) \
               JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.num) AS columns \
         FROM pg_index i \
         JOIN pg_class ic ON ic.oid = i.indexrelid \
         JOIN pg_class c ON c.oid = i.indrelid AND c.relkind IN ('r', 'p') \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = i.indexrelid AND con.conrelid = i.indrelid) \
           AND ic.relispartition = false AND {SYSTEM_SCHEMAS} \
         ORDER BY i.indrelid, ic.relname"
    )
}

/// One row per user type that is an enum (with a label) or a domain: [`TypeRow`].
pub fn types_sql() -> String {
    format!(
        "SELECT n.nspname::text AS schema, t.typname::text AS name, t.typtype::text AS kind, \
         e.enumlabel::text AS label, \
         bt.typname::text AS base_name, btn.nspname::text AS base_schema, t.typtypmod::int4 AS base_typmod, \
         format_type(t.typbasetype, t.typtypmod) AS base_sql, \
         (bt.typcategory = 'A' AND bt.typelem <> 0) AS base_is_array, \
         EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e') AS extension_owned \
         FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace \
         LEFT JOIN pg_enum e ON e.enumtypid = t.oid \
         LEFT JOIN pg_type bt0 ON bt0.oid = t.typbasetype \
         LEFT JOIN pg_type bt ON bt.oid = CASE WHEN bt0.typcategory = 'A' AND bt0.typelem <> 0 THEN bt0.typelem ELSE bt0.oid END \
         LEFT JOIN pg_namespace btn ON btn.oid = bt.typnamespace \
         WHERE t.typtype IN ('e', 'd') AND {SYSTEM_SCHEMAS} \
         ORDER BY n.nspname, t.typname, e.enumsortorder"
    )
}

/// A relation (`pg_class`).
#[derive(Debug, Clone, PartialEq)]
pub struct RelationRow {
    /// Its oid.
    pub oid: i64,
    /// Its schema.
    pub schema: String,
    /// Its name.
    pub name: String,
    /// `relkind`: `r` table, `p` partitioned table, `v`/`m` views, `f` foreign table.
    pub kind: String,
    /// A partition of another table.
    pub is_partition: bool,
    /// Owned by an extension.
    pub extension_owned: bool,
}

/// A column (`pg_attribute`).
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnRow {
    /// The table's oid.
    pub table_oid: i64,
    /// `attnum`.
    pub num: i32,
    /// The name.
    pub name: String,
    /// `format_type(atttypid, atttypmod)`.
    pub sql_type: String,
    /// An array type.
    pub is_array: bool,
    /// The (element) type's name.
    pub type_name: String,
    /// The (element) type's schema.
    pub type_schema: String,
    /// `atttypmod`.
    pub typmod: i32,
    /// `attnotnull`.
    pub not_null: bool,
    /// `pg_get_expr` of the default.
    pub default_expr: Option<String>,
    /// `attidentity` (`a`, `d` or empty).
    pub identity: String,
    /// `attgenerated` (`s` or empty).
    pub generated: String,
    /// A sequence is owned by this column (serial).
    pub owns_sequence: bool,
}

/// A constraint (`pg_constraint`).
#[derive(Debug, Clone, PartialEq)]
pub struct ConstraintRow {
    /// The table's oid.
    pub table_oid: i64,
    /// The name.
    pub name: String,
    /// `contype`.
    pub kind: String,
    /// `pg_get_constraintdef`.
    pub definition: String,
    /// Its columns in key order.
    pub columns: Vec<String>,
    /// Referenced table's schema (foreign keys).
    pub ref_schema: Option<String>,
    /// Referenced table (foreign keys).
    pub ref_table: Option<String>,
    /// Referenced columns (foreign keys).
    pub ref_columns: Vec<String>,
}

/// An index backing no constraint.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexRow {
    /// The table's oid.
    pub table_oid: i64,
    /// The index name.
    pub name: String,
    /// `pg_get_indexdef`.
    pub definition: String,
    /// Its plain columns.
    pub columns: Vec<String>,
}

/// An enum label or a domain.
#[derive(Debug, Clone, PartialEq)]
pub struct TypeRow {
    /// The type's schema.
    pub schema: String,
    /// The type's name.
    pub name: String,
    /// `e` enum, `d` domain.
    pub kind: String,
    /// One label (enums; rows come in sort order).
    pub label: Option<String>,
    /// The domain's base (element) type name.
    pub base_name: Option<String>,
    /// Its schema.
    pub base_schema: Option<String>,
    /// The domain's typmod.
    pub base_typmod: i32,
    /// `format_type` of the base.
    pub base_sql: Option<String>,
    /// The base is an array.
    pub base_is_array: Option<bool>,
    /// Owned by an extension.
    pub extension_owned: bool,
}

/// Everything the queries return.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rows {
    /// `server_version_num`.
    pub server_version_num: i32,
    /// [`relations_sql`].
    pub relations: Vec<RelationRow>,
    /// [`columns_sql`].
    pub columns: Vec<ColumnRow>,
    /// [`constraints_sql`].
    pub constraints: Vec<ConstraintRow>,
    /// [`indexes_sql`].
    pub indexes: Vec<IndexRow>,
    /// [`types_sql`].
    pub types: Vec<TypeRow>,
}

/// Whether dmig leaves a table out of the model by its name.
pub fn is_bookkeeping_table(name: &str) -> bool {
    // dmig's companion tables (design.md §2) are named `__dmig_*`.
    name == VERSION_TABLE || name.starts_with("__dmig_")
}

/// The column type of a catalog type name and typmod.
fn column_type(
    schema: &str,
    name: &str,
    typmod: i32,
    array: bool,
    sql: Option<String>,
) -> ColumnType {
    let base = if schema == "pg_catalog" {
        BaseType::Builtin(name.to_string())
    } else {
        BaseType::Named(QualName::new(schema, name))
    };
    let modifier = if typmod < 0 || schema != "pg_catalog" {
        None
    } else {
        match name {
            "varchar" | "bpchar" => Some(Modifier::Length(typmod - 4)),
            "bit" | "varbit" => Some(Modifier::Length(typmod)),
            "numeric" => Some(Modifier::Numeric(
                ((typmod - 4) >> 16) & 0xffff,
                (typmod - 4) & 0xffff,
            )),
            "time" | "timetz" | "timestamp" | "timestamptz" => Some(Modifier::Precision(typmod)),
            "interval" => Some(Modifier::Precision(typmod)),
            _ => None,
        }
    };
    ColumnType {
        base,
        array,
        modifier,
        sql,
    }
}

/// The pure conversion: rows to the model, leaving out what dmig must not
/// touch (see the module docs).
pub fn to_model(rows: &Rows) -> Schema {
    let mut schema = Schema::default();
    let mut by_oid: BTreeMap<i64, QualName> = BTreeMap::new();
    for r in &rows.relations {
        if matches!(r.kind.as_str(), "v" | "m") && !r.extension_owned {
            schema
                .views
                .insert(QualName::new(r.schema.clone(), r.name.clone()));
        }
        let keep = matches!(r.kind.as_str(), "r" | "p")
            && !r.is_partition
            && !r.extension_owned
            && !is_bookkeeping_table(&r.name);
        if keep {
            let name = QualName::new(r.schema.clone(), r.name.clone());
            by_oid.insert(r.oid, name.clone());
            schema.tables.insert(name.clone(), Table::new(name));
        }
    }
    for c in &rows.columns {
        let Some(name) = by_oid.get(&c.table_oid) else {
            continue;
        };
        let Some(table) = schema.tables.get_mut(name) else {
            continue;
        };
        let ty = column_type(
            &c.type_schema,
            &c.type_name,
            c.typmod,
            c.is_array,
            Some(c.sql_type.clone()),
        );
        let identity = match c.identity.as_str() {
            "a" => Some(Identity::Always),
            "d" => Some(Identity::ByDefault),
            _ => None,
        };
        let generated = (c.generated == "s")
            .then(|| c.default_expr.clone())
            .flatten();
        let serial = c.owns_sequence
            && identity.is_none()
            && c.default_expr
                .as_deref()
                .is_some_and(|d| d.starts_with("nextval("));
        table.columns.push(Column {
            name: c.name.clone(),
            ty,
            nullable: !c.not_null,
            default: if generated.is_some() {
                None
            } else {
                c.default_expr.clone()
            },
            identity,
            serial,
            generated,
            origin: None,
        });
    }
    for c in &rows.constraints {
        let Some(name) = by_oid.get(&c.table_oid) else {
            continue;
        };
        let Some(table) = schema.tables.get_mut(name) else {
            continue;
        };
        match c.kind.as_str() {
            "p" => {
                table.primary_key = Some(PrimaryKey {
                    name: c.name.clone(),
                    columns: c.columns.clone(),
                })
            }
            "f" => table.foreign_keys.push(ForeignKey {
                name: c.name.clone(),
                columns: c.columns.clone(),
                references: QualName::new(
                    c.ref_schema.clone().unwrap_or_default(),
                    c.ref_table.clone().unwrap_or_default(),
                ),
                referenced_columns: c.ref_columns.clone(),
                definition: Some(c.definition.clone()),
            }),
            _ => table.other_constraints.push(Constraint {
                name: c.name.clone(),
                columns: c.columns.clone(),
                definition: c.definition.clone(),
            }),
        }
    }
    for i in &rows.indexes {
        let Some(name) = by_oid.get(&i.table_oid) else {
            continue;
        };
        if let Some(table) = schema.tables.get_mut(name) {
            table.indexes.push(Index {
                name: i.name.clone(),
                columns: i.columns.clone(),
                definition: i.definition.clone(),
            });
        }
    }
    for t in &rows.types {
        if t.extension_owned {
            continue;
        }
        let name = QualName::new(t.schema.clone(), t.name.clone());
        match t.kind.as_str() {
            "e" => {
                let entry = schema
                    .enums
                    .entry(name.clone())
                    .or_insert_with(|| EnumType {
                        name,
                        labels: Some(Vec::new()),
                        origin: None,
                    });
                if let (Some(label), Some(labels)) = (&t.label, entry.labels.as_mut()) {
                    labels.push(label.clone());
                }
            }
            "d" => {
                let base = column_type(
                    t.base_schema.as_deref().unwrap_or("pg_catalog"),
                    t.base_name.as_deref().unwrap_or(""),
                    t.base_typmod,
                    t.base_is_array.unwrap_or(false),
                    t.base_sql.clone(),
                );
                schema.domains.insert(name.clone(), Domain { name, base });
            }
            _ => {}
        }
    }
    schema
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relation(oid: i64, name: &str, kind: &str) -> RelationRow {
        RelationRow {
            oid,
            schema: "public".into(),
            name: name.into(),
            kind: kind.into(),
            is_partition: false,
            extension_owned: false,
        }
    }

    fn column(table_oid: i64, name: &str, ty: &str, typmod: i32) -> ColumnRow {
        ColumnRow {
            table_oid,
            num: 1,
            name: name.into(),
            sql_type: ty.into(),
            is_array: false,
            type_name: ty.into(),
            type_schema: "pg_catalog".into(),
            typmod,
            not_null: true,
            default_expr: None,
            identity: String::new(),
            generated: String::new(),
            owns_sequence: false,
        }
    }

    #[test]
    fn bookkeeping_views_partitions_and_extension_tables_are_left_out() {
        let mut partition = relation(5, "events_2024", "r");
        partition.is_partition = true;
        let mut postgis = relation(6, "spatial_ref_sys", "r");
        postgis.extension_owned = true;
        let rows = Rows {
            relations: vec![
                relation(1, "users", "r"),
                relation(2, "__diesel_schema_migrations", "r"),
                relation(3, "__dmig_checksums", "r"),
                relation(4, "active_users", "v"),
                partition,
                postgis,
                relation(7, "events", "p"),
            ],
            columns: vec![column(1, "id", "int4", -1), column(5, "id", "int4", -1)],
            ..Rows::default()
        };
        let model = to_model(&rows);
        let names: Vec<String> = model.tables.keys().map(|n| n.to_string()).collect();
        assert_eq!(names, ["events", "users"]);
        assert!(model
            .views
            .contains(&QualName::new("public", "active_users")));
        assert_eq!(
            model.tables[&QualName::new("public", "users")]
                .columns
                .len(),
            1
        );
    }

    #[test]
    fn typmods_become_lengths_and_precisions() {
        let rows = Rows {
            relations: vec![relation(1, "t", "r")],
            columns: vec![
                column(1, "v", "varchar", 24),
                column(1, "n", "numeric", (10 << 16) + 2 + 4),
                column(1, "ts", "timestamptz", 3),
                column(1, "u", "varchar", -1),
            ],
            ..Rows::default()
        };
        let model = to_model(&rows);
        let t = &model.tables[&QualName::new("public", "t")];
        assert_eq!(t.columns[0].ty.modifier, Some(Modifier::Length(20)));
        assert_eq!(t.columns[1].ty.modifier, Some(Modifier::Numeric(10, 2)));
        assert_eq!(t.columns[2].ty.modifier, Some(Modifier::Precision(3)));
        assert_eq!(t.columns[3].ty.modifier, None);
    }

    #[test]
    fn serial_is_an_owned_sequence_default_and_identity_is_not_serial() {
        let mut serial = column(1, "id", "int4", -1);
        serial.owns_sequence = true;
        serial.default_expr = Some("nextval('t_id_seq'::regclass)".into());
        let mut identity = column(1, "id2", "int4", -1);
        identity.owns_sequence = false;
        identity.identity = "a".into();
        let rows = Rows {
            relations: vec![relation(1, "t", "r")],
            columns: vec![serial, identity],
            ..Rows::default()
        };
        let model = to_model(&rows);
        let t = &model.tables[&QualName::new("public", "t")];
        assert!(t.columns[0].serial);
        assert!(!t.columns[1].serial);
        assert_eq!(t.columns[1].identity, Some(Identity::Always));
    }
}
