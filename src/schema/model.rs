//! The one schema model both sides become: what `schema.rs` says
//! ([`super::rust`]) and what the database's catalogs say
//! ([`super::introspect`]). Types are PostgreSQL type names after Diesel's
//! aliases (`Float` is `float4`, `Double` `float8`, `Binary` `bytea`, ...).
//!
//! Facts only the database has (defaults, identity, constraint names and
//! definitions, indexes) are carried so that a `down.sql` can rebuild what
//! was there; the diff never compares them.

use std::collections::BTreeMap;
use std::fmt;

use crate::dialect::postgres::quote_ident_if_needed;
use crate::model::printable;

/// PostgreSQL's identifier limit (NAMEDATALEN - 1), in bytes.
pub const MAX_IDENTIFIER_BYTES: usize = 63;

/// A schema-qualified name (`public.users`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QualName {
    /// The schema (`public` when `schema.rs` names none).
    pub schema: String,
    /// The object's own name, as stored in the catalog (case kept).
    pub name: String,
}

impl QualName {
    /// `schema.name`, both parts truncated to 63 bytes as PostgreSQL does.
    pub fn new(schema: impl Into<String>, name: impl Into<String>) -> QualName {
        QualName {
            schema: truncate_identifier(&schema.into()),
            name: truncate_identifier(&name.into()),
        }
    }

    /// The name as SQL: `users`, `app.things`, `"Users"` (the schema is left
    /// out for `public`, the schema of an unqualified `table!`).
    pub fn sql(&self) -> String {
        if self.schema == "public" {
            quote_ident_if_needed(&self.name)
        } else {
            format!(
                "{}.{}",
                quote_ident_if_needed(&self.schema),
                quote_ident_if_needed(&self.name)
            )
        }
    }
}

impl fmt::Display for QualName {
    /// `users`, `app.things`, for messages and comments: unquoted, control
    /// characters replaced ([`printable`]) so a name cannot end a `--` comment.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.schema == "public" {
            f.write_str(&printable(&self.name))
        } else {
            write!(f, "{}.{}", printable(&self.schema), printable(&self.name))
        }
    }
}

/// Cut an identifier to PostgreSQL's 63 bytes, on a character boundary.
pub fn truncate_identifier(name: &str) -> String {
    if name.len() <= MAX_IDENTIFIER_BYTES {
        return name.to_string();
    }
    let mut end = MAX_IDENTIFIER_BYTES;
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    name[..end].to_string()
}

/// A whole schema: the tables in scope, and the types they may use.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Schema {
    /// Tables by name.
    pub tables: BTreeMap<QualName, Table>,
    /// Enum types by name.
    pub enums: BTreeMap<QualName, EnumType>,
    /// Domains by name (database side only: `schema.rs` cannot declare one).
    pub domains: BTreeMap<QualName, Domain>,
    /// Views and materialized views (database side only): a `table!` for
    /// one of them is left alone, never created as a table.
    pub views: std::collections::BTreeSet<QualName>,
}

/// A table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// Its name.
    pub name: QualName,
    /// Columns in their order (`table!` order, or `attnum`).
    pub columns: Vec<Column>,
    /// The primary key, if any.
    pub primary_key: Option<PrimaryKey>,
    /// Foreign keys from this table.
    pub foreign_keys: Vec<ForeignKey>,
    /// Other constraints (unique, check, exclusion): database side only, kept
    /// so a dropped table or column can be rebuilt.
    pub other_constraints: Vec<Constraint>,
    /// Indexes that back no constraint: database side only, as above.
    pub indexes: Vec<Index>,
    /// Where `schema.rs` declares it (`file:line:col`), for messages.
    pub origin: Option<String>,
}

impl Table {
    /// An empty table named `name`.
    pub fn new(name: QualName) -> Table {
        Table {
            name,
            columns: Vec::new(),
            primary_key: None,
            foreign_keys: Vec::new(),
            other_constraints: Vec::new(),
            indexes: Vec::new(),
            origin: None,
        }
    }

    /// The column named `name`.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// A column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// Its name (case kept).
    pub name: String,
    /// Its type.
    pub ty: ColumnType,
    /// Whether it accepts NULL.
    pub nullable: bool,
    /// The default expression (database side only).
    pub default: Option<String>,
    /// `GENERATED ... AS IDENTITY` (database side only).
    pub identity: Option<Identity>,
    /// A serial column: `Serial`/`BigSerial` in `schema.rs`, or a
    /// `nextval` default of a sequence the column owns in the database.
    pub serial: bool,
    /// `GENERATED ALWAYS AS (expr) STORED`: the expression (database side only).
    pub generated: Option<String>,
    /// Where `schema.rs` declares it, for messages.
    pub origin: Option<String>,
}

impl Column {
    /// A plain column with no database facts.
    pub fn new(name: impl Into<String>, ty: ColumnType, nullable: bool) -> Column {
        Column {
            name: name.into(),
            ty,
            nullable,
            default: None,
            identity: None,
            serial: false,
            generated: None,
            origin: None,
        }
    }
}

/// Identity columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Identity {
    /// `GENERATED ALWAYS AS IDENTITY`.
    Always,
    /// `GENERATED BY DEFAULT AS IDENTITY`.
    ByDefault,
}

/// A column type: a PostgreSQL base type, maybe an array of it, with a type
/// modifier where one is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnType {
    /// The element type.
    pub base: BaseType,
    /// `type[]`.
    pub array: bool,
    /// `varchar(n)`, `numeric(p, s)`, `timestamp(p)`.
    pub modifier: Option<Modifier>,
    /// The database's own spelling (`format_type`), database side only: what
    /// a `down.sql` writes to restore the column exactly.
    pub sql: Option<String>,
}

impl ColumnType {
    /// A built-in type without modifier.
    pub fn builtin(typname: &str) -> ColumnType {
        ColumnType {
            base: BaseType::Builtin(typname.to_string()),
            array: false,
            modifier: None,
            sql: None,
        }
    }
}

/// The element type of a column.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum BaseType {
    /// A type of `pg_catalog`, by its `typname` (`int4`, `varchar`, `float8`).
    Builtin(String),
    /// Any other type (an enum, a domain, an extension's type), by name.
    Named(QualName),
}

/// A type modifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Modifier {
    /// `varchar(n)`, `char(n)`, `bit(n)`: `#[max_length = n]` in `schema.rs`.
    Length(i32),
    /// `numeric(precision, scale)`.
    Numeric(i32, i32),
    /// Fractional-second precision of time types, and interval fields.
    Precision(i32),
}

/// A primary key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrimaryKey {
    /// The constraint's name (`users_pkey`).
    pub name: String,
    /// Its columns, in key order.
    pub columns: Vec<String>,
}

/// A foreign key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignKey {
    /// The constraint's name.
    pub name: String,
    /// The referencing columns.
    pub columns: Vec<String>,
    /// The referenced table.
    pub references: QualName,
    /// The referenced columns (empty: the referenced table's primary key).
    pub referenced_columns: Vec<String>,
    /// `pg_get_constraintdef` (database side only): restores actions,
    /// deferrability and match type exactly.
    pub definition: Option<String>,
}

/// A constraint other than a primary or foreign key (database side only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Constraint {
    /// Its name.
    pub name: String,
    /// The columns it covers.
    pub columns: Vec<String>,
    /// `pg_get_constraintdef`.
    pub definition: String,
}

/// An index that backs no constraint (database side only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Index {
    /// Its name.
    pub name: String,
    /// The columns it covers (expression columns are not listed).
    pub columns: Vec<String>,
    /// `pg_get_indexdef`: the whole `CREATE INDEX` statement.
    pub definition: String,
}

/// An enum type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnumType {
    /// Its name.
    pub name: QualName,
    /// Its labels in sort order. `None` on the `schema.rs` side when the
    /// models name the type but give no labels (no `DbEnum` derive for it):
    /// then the labels are not compared.
    pub labels: Option<Vec<String>>,
    /// Where the models declare it, for messages.
    pub origin: Option<String>,
}

/// A domain (database side only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Domain {
    /// Its name.
    pub name: QualName,
    /// The type it is over.
    pub base: ColumnType,
}

/// The name PostgreSQL would choose for a constraint (`makeObjectName`):
/// `table_column_suffix`, the longer of the two parts cut until it fits 63 bytes.
pub fn constraint_name(table: &str, column: Option<&str>, suffix: &str) -> String {
    let budget = MAX_IDENTIFIER_BYTES - suffix.len() - 1 - usize::from(column.is_some());
    let mut first = table.to_string();
    let mut second = column.unwrap_or("").to_string();
    while first.len() + second.len() > budget {
        let cut = if first.len() > second.len() {
            &mut first
        } else {
            &mut second
        };
        let mut end = cut.len() - 1;
        while !cut.is_char_boundary(end) {
            end -= 1;
        }
        cut.truncate(end);
    }
    match column {
        Some(_) => format!("{first}_{second}_{suffix}"),
        None => format!("{first}_{suffix}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qualified_names_leave_out_public_and_quote_what_needs_it() {
        assert_eq!(QualName::new("app", "Things").sql(), "app.\"Things\"");
        assert_eq!(QualName::new("public", "user").sql(), "\"user\"");
        assert_eq!(QualName::new("public", "users").sql(), "users");
    }

    #[test]
    fn constraint_names_fit_in_63_bytes_like_postgres() {
        assert_eq!(
            constraint_name("posts", Some("user_id"), "fkey"),
            "posts_user_id_fkey"
        );
        assert_eq!(constraint_name("users", None, "pkey"), "users_pkey");
        let long = "t".repeat(70);
        let name = constraint_name(&long, Some("col"), "fkey");
        assert_eq!(name.len(), 63);
        assert!(name.ends_with("_col_fkey"), "{name}");
    }

    #[test]
    fn long_identifiers_are_truncated_like_postgres() {
        let long = "é".repeat(40);
        let cut = truncate_identifier(&long);
        assert_eq!(cut.len(), 62);
    }
}
