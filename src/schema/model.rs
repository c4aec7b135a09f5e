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
            quote_ident(&self.name)
        } else {
            format!("{}.{}", quote_ident(&self.schema), quote_ident(&self.name))
        }
    }
}

impl fmt::Display for QualName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.schema == "public" {
            f.write_str(&self.name)
        } else {
            write!(f, "{}.{}", self.schema, self.name)
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

/// PostgreSQL's reserved key words (and the type and function names that
/// also need quotes as column names), for [`quote_ident`].
const RESERVED: &[&str] = &[
    "all",
    "analyse",
    "analyze",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "asymmetric",
    "authorization",
    "between",
    "bigint",
    "binary",
    "bit",
    "boolean",
    "both",
    "case",
    "cast",
    "char",
    "character",
    "check",
    "coalesce",
    "collate",
    "collation",
    "column",
    "concurrently",
    "constraint",
    "create",
    "cross",
    "current_catalog",
    "current_date",
    "current_role",
    "current_schema",
    "current_time",
    "current_timestamp",
    "current_user",
    "dec",
    "decimal",
    "default",
    "deferrable",
    "desc",
    "distinct",
    "do",
    "else",
    "end",
    "except",
    "exists",
    "extract",
    "false",
    "fetch",
    "float",
    "for",
    "foreign",
    "freeze",
    "from",
    "full",
    "grant",
    "greatest",
    "group",
    "grouping",
    "having",
    "ilike",
    "in",
    "initially",
    "inner",
    "inout",
    "int",
    "integer",
    "intersect",
    "interval",
    "into",
    "is",
    "isnull",
    "join",
    "lateral",
    "leading",
    "least",
    "left",
    "like",
    "limit",
    "localtime",
    "localtimestamp",
    "national",
    "natural",
    "nchar",
    "none",
    "normalize",
    "not",
    "notnull",
    "null",
    "nullif",
    "numeric",
    "offset",
    "on",
    "only",
    "or",
    "order",
    "out",
    "outer",
    "overlaps",
    "overlay",
    "placing",
    "position",
    "precision",
    "primary",
    "real",
    "references",
    "returning",
    "right",
    "row",
    "select",
    "session_user",
    "setof",
    "similar",
    "smallint",
    "some",
    "substring",
    "symmetric",
    "system_user",
    "table",
    "tablesample",
    "then",
    "time",
    "timestamp",
    "to",
    "trailing",
    "treat",
    "trim",
    "true",
    "union",
    "unique",
    "user",
    "using",
    "values",
    "varchar",
    "variadic",
    "verbose",
    "when",
    "where",
    "window",
    "with",
    "xmlattributes",
    "xmlconcat",
    "xmlelement",
    "xmlexists",
    "xmlforest",
    "xmlnamespaces",
    "xmlparse",
    "xmlpi",
    "xmlroot",
    "xmlserialize",
    "xmltable",
];

/// An identifier as SQL: bare when PostgreSQL would read it back unchanged
/// (lowercase letters, digits, `_`, not a key word), else double-quoted.
pub fn quote_ident(name: &str) -> String {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && RESERVED.binary_search(&name).is_err();
    if plain {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

/// A string literal: `'it''s'`.
pub fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
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
    fn reserved_words_are_sorted_for_binary_search() {
        let mut sorted = RESERVED.to_vec();
        sorted.sort_unstable();
        assert_eq!(sorted, RESERVED);
    }

    #[test]
    fn identifiers_are_quoted_only_when_needed() {
        assert_eq!(quote_ident("users"), "users");
        assert_eq!(quote_ident("Users"), "\"Users\"");
        assert_eq!(quote_ident("user"), "\"user\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(quote_ident("1st"), "\"1st\"");
        assert_eq!(QualName::new("app", "Things").sql(), "app.\"Things\"");
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
