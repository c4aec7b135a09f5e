//! What `revision --autogenerate` and `verify` need from PostgreSQL (feature
//! `autogenerate`): the catalog queries of [`crate::schema::introspect`] run
//! on a live connection, their plain rows handed back (the conversion to the
//! model is pure and lives there); row counts for the NOT NULL warnings;
//! scratch databases created and dropped through an admin URL; and a script
//! run statement by statement when psql is not at hand. Kept thin on purpose.

use std::time::Duration;

use diesel::sql_types::{Array, Bool, Int4, Int8, Nullable, Text};
use diesel::QueryableByName;
use diesel_async::{AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};

use super::connect::establish;
use crate::dialect::postgres::quote_ident;
use crate::error::SourceError;
use crate::online::error::query_failed;
use crate::online::OnlineError;
use crate::schema::introspect::{
    self as pure, ColumnRow, ConstraintRow, IndexRow, RelationRow, Rows, TypeRow,
};

#[derive(QueryableByName)]
struct ServerVersion {
    #[diesel(sql_type = Int4)]
    version: i32,
}

#[derive(QueryableByName)]
struct Relation {
    #[diesel(sql_type = Int8)]
    oid: i64,
    #[diesel(sql_type = Text)]
    schema: String,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Bool)]
    is_partition: bool,
    #[diesel(sql_type = Bool)]
    extension_owned: bool,
}

#[derive(QueryableByName)]
struct ColumnQ {
    #[diesel(sql_type = Int8)]
    table_oid: i64,
    #[diesel(sql_type = Int4)]
    num: i32,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    sql_type: String,
    #[diesel(sql_type = Bool)]
    is_array: bool,
    #[diesel(sql_type = Text)]
    type_name: String,
    #[diesel(sql_type = Text)]
    type_schema: String,
    #[diesel(sql_type = Int4)]
    typmod: i32,
    #[diesel(sql_type = Bool)]
    not_null: bool,
    #[diesel(sql_type = Nullable<Text>)]
    default_expr: Option<String>,
    #[diesel(sql_type = Text)]
    identity: String,
    #[diesel(sql_type = Text)]
    generated: String,
    #[diesel(sql_type = Bool)]
    owns_sequence: bool,
}

#[derive(QueryableByName)]
struct ConstraintQ {
    #[diesel(sql_type = Int8)]
    table_oid: i64,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Text)]
    definition: String,
    #[diesel(sql_type = Array<Text>)]
    columns: Vec<String>,
    #[diesel(sql_type = Nullable<Text>)]
    ref_schema: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    ref_table: Option<String>,
    #[diesel(sql_type = Array<Text>)]
    ref_columns: Vec<String>,
}

#[derive(QueryableByName)]
struct IndexQ {
    #[diesel(sql_type = Int8)]
    table_oid: i64,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    definition: String,
    #[diesel(sql_type = Array<Text>)]
    columns: Vec<String>,
}

#[derive(QueryableByName)]
struct TypeQ {
    #[diesel(sql_type = Text)]
    schema: String,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Nullable<Text>)]
    label: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    base_name: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    base_schema: Option<String>,
    #[diesel(sql_type = Int4)]
    base_typmod: i32,
    #[diesel(sql_type = Nullable<Text>)]
    base_sql: Option<String>,
    #[diesel(sql_type = Nullable<Bool>)]
    base_is_array: Option<bool>,
    #[diesel(sql_type = Bool)]
    extension_owned: bool,
}

/// Read tables, columns, keys, constraints, indexes, enums and domains
/// from the catalogs, as plain rows (see [`pure::to_model`]).
pub async fn introspect(conn: &mut AsyncPgConnection) -> Result<Rows, OnlineError> {
    let version: ServerVersion = diesel::sql_query(pure::SERVER_VERSION_SQL)
        .get_result(conn)
        .await
        .map_err(query_failed("read the server version"))?;
    let relations: Vec<Relation> = diesel::sql_query(pure::relations_sql())
        .load(conn)
        .await
        .map_err(query_failed("read the tables from pg_class"))?;
    let columns: Vec<ColumnQ> = diesel::sql_query(pure::columns_sql())
        .load(conn)
        .await
        .map_err(query_failed("read the columns from pg_attribute"))?;
    let constraints: Vec<ConstraintQ> = diesel::sql_query(pure::constraints_sql())
        .load(conn)
        .await
        .map_err(query_failed("read the constraints from pg_constraint"))?;
    let indexes: Vec<IndexQ> = diesel::sql_query(pure::indexes_sql())
        .load(conn)
        .await
        .map_err(query_failed("read the indexes from pg_index"))?;
    let types: Vec<TypeQ> = diesel::sql_query(pure::types_sql())
        .load(conn)
        .await
        .map_err(query_failed("read enums and domains from pg_type"))?;
    Ok(Rows {
        server_version_num: version.version,
        relations: relations
            .into_iter()
            .map(|r| RelationRow {
                oid: r.oid,
                schema: r.schema,
                name: r.name,
                kind: r.kind,
                is_partition: r.is_partition,
                extension_owned: r.extension_owned,
            })
            .collect(),
        columns: columns
            .into_iter()
            .map(|c| ColumnRow {
                table_oid: c.table_oid,
                num: c.num,
                name: c.name,
                sql_type: c.sql_type,
                is_array: c.is_array,
                type_name: c.type_name,
                type_schema: c.type_schema,
                typmod: c.typmod,
                not_null: c.not_null,
                default_expr: c.default_expr,
                identity: c.identity,
                generated: c.generated,
                owns_sequence: c.owns_sequence,
            })
            .collect(),
        constraints: constraints
            .into_iter()
            .map(|c| ConstraintRow {
                table_oid: c.table_oid,
                name: c.name,
                kind: c.kind,
                definition: c.definition,
                columns: c.columns,
                ref_schema: c.ref_schema,
                ref_table: c.ref_table,
                ref_columns: c.ref_columns,
            })
            .collect(),
        indexes: indexes
            .into_iter()
            .map(|i| IndexRow {
                table_oid: i.table_oid,
                name: i.name,
                definition: i.definition,
                columns: i.columns,
            })
            .collect(),
        types: types
            .into_iter()
            .map(|t| TypeRow {
                schema: t.schema,
                name: t.name,
                kind: t.kind,
                label: t.label,
                base_name: t.base_name,
                base_schema: t.base_schema,
                base_typmod: t.base_typmod,
                base_sql: t.base_sql,
                base_is_array: t.base_is_array,
                extension_owned: t.extension_owned,
            })
            .collect(),
    })
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = Int8)]
    n: i64,
}

/// `SELECT count(*) FROM <from_where>`: rows of a table, for the NOT NULL flags.
pub async fn count(conn: &mut AsyncPgConnection, from_where: &str) -> Result<i64, OnlineError> {
    let row: Count = diesel::sql_query(format!("SELECT count(*) AS n FROM {from_where}"))
        .get_result(conn)
        .await
        .map_err(query_failed("count the rows of a table"))?;
    Ok(row.n)
}

/// `CREATE DATABASE` of a scratch database through `admin_url` (for
/// `revision --autogenerate` and `verify`).
pub async fn create_database(
    admin_url: &str,
    name: &str,
    timeout: Duration,
) -> Result<(), OnlineError> {
    let mut conn = establish(admin_url, timeout).await?;
    conn.batch_execute(&format!("CREATE DATABASE {}", quote_ident(name)))
        .await
        .map_err(query_failed(
            "create a scratch database (does the --scratch-url user have CREATEDB?)",
        ))
}

/// Drop a scratch database, closing its sessions (`WITH (FORCE)`, or plain
/// before PostgreSQL 13). Best effort: failures are logged, because what the
/// scratch database was for matters more than its cleanup.
pub async fn drop_database(admin_url: &str, name: &str, timeout: Duration) {
    let Ok(mut conn) = establish(admin_url, timeout).await else {
        tracing::warn!(database = %name, "cannot connect to drop the scratch database");
        return;
    };
    let name_sql = quote_ident(name);
    let forced = format!("DROP DATABASE IF EXISTS {name_sql} WITH (FORCE)");
    if conn.batch_execute(&forced).await.is_err() {
        let plain = format!("DROP DATABASE IF EXISTS {name_sql}");
        if let Err(error) = conn.batch_execute(&plain).await {
            tracing::warn!(database = %name, %error, "cannot drop the scratch database");
        }
    }
}

/// Run `script` statement by statement (psql's split, see [`crate::sql`]) in
/// autocommit on one connection to `url`: how `dmig verify` runs the offline
/// script when psql is not installed.
pub async fn run_statements(url: &str, script: &str, timeout: Duration) -> Result<(), OnlineError> {
    let mut conn = establish(url, timeout).await?;
    let statements = crate::sql::split(script).map_err(|source| SourceError::Lex {
        path: std::path::PathBuf::from("<offline script>"),
        source,
    })?;
    for statement in statements {
        conn.batch_execute(statement.text)
            .await
            .map_err(query_failed("run the offline script"))?;
    }
    Ok(())
}
