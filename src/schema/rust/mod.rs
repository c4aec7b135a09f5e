//! Reading the application's `schema.rs` files: `diesel::table!` (parsed by
//! `diesel_table_macro_syntax`, the parser diesel CLI uses), `joinable!`,
//! the custom types of `sql_types` modules, and enum labels from
//! `#[derive(DbEnum)]` (diesel-derive-enum) where the models carry them.
//!
//! Anything that could declare a table and is not understood is an error
//! with `file:line:col`: a wrong guess here would become a wrong migration.
//!
//! This module walks a file's items and joins the files into one model;
//! `table` reads one `table!`, `joinable` turns `joinable!` into foreign
//! keys, `sql_types` resolves custom types, `enums` reads `DbEnum`s.

mod enums;
mod joinable;
mod sql_types;
mod table;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use diesel_table_macro_syntax::TableDecl;
use syn::spanned::Spanned;

use super::model::{BaseType, QualName, Schema, Table};
use super::SchemaError;

/// One parsed `schema.rs` (or models file), before names are resolved.
#[derive(Debug, Default)]
pub struct RustFile {
    /// The file, as given.
    pub path: PathBuf,
    tables: Vec<TableItem>,
    joinables: Vec<Joinable>,
    custom_types: Vec<CustomType>,
    enums: Vec<DbEnum>,
}

#[derive(Debug)]
struct TableItem {
    module: Vec<String>,
    rust_name: String,
    table: Table,
    /// Columns whose type is a custom type: (column index, type name, `use` paths).
    custom_columns: Vec<(usize, String, Vec<String>)>,
    /// SQL column name -> Rust column name (they differ under `#[sql_name]`).
    rust_names: BTreeMap<String, String>,
}

#[derive(Debug)]
struct Joinable {
    module: Vec<String>,
    child: String,
    parent: String,
    column: String,
    location: String,
}

#[derive(Debug, Clone)]
struct CustomType {
    module: Vec<String>,
    rust_name: String,
    pg: QualName,
}

#[derive(Debug)]
struct DbEnum {
    /// `ExistingTypePath` (a path to a `sql_types` struct) or `PgType` (a name).
    target: EnumTarget,
    labels: Vec<String>,
    location: String,
}

#[derive(Debug)]
enum EnumTarget {
    Path(Vec<String>),
    Name(String),
}

fn location(path: &Path, span: proc_macro2::Span) -> String {
    let start = span.start();
    format!("{}:{}:{}", path.display(), start.line, start.column + 1)
}

fn model_error(path: &Path, span: proc_macro2::Span, message: impl Into<String>) -> SchemaError {
    SchemaError::Model {
        location: location(path, span),
        message: message.into(),
    }
}

/// Read and parse one file.
pub fn read_file(path: &Path) -> Result<RustFile, SchemaError> {
    let text = std::fs::read_to_string(path).map_err(|source| SchemaError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_file(path, &text)
}

/// Parse the text of one file; `path` is used in messages.
pub fn parse_file(path: &Path, text: &str) -> Result<RustFile, SchemaError> {
    let file = syn::parse_file(text).map_err(|e| model_error(path, e.span(), e.to_string()))?;
    let mut out = RustFile {
        path: path.to_path_buf(),
        ..RustFile::default()
    };
    walk_items(path, &file.items, &mut Vec::new(), &mut out)?;
    Ok(out)
}

fn last_segment(path: &syn::Path) -> String {
    path.segments
        .last()
        .map(|s| s.ident.to_string())
        .unwrap_or_default()
}

fn walk_items(
    path: &Path,
    items: &[syn::Item],
    module: &mut Vec<String>,
    out: &mut RustFile,
) -> Result<(), SchemaError> {
    for item in items {
        match item {
            syn::Item::Mod(m) => {
                let Some((_, content)) = &m.content else {
                    return Err(model_error(
                        path,
                        m.span(),
                        format!(
                            "`mod {};` points at another file: pass that file with --schema too, or inline it",
                            m.ident
                        ),
                    ));
                };
                module.push(m.ident.to_string());
                walk_items(path, content, module, out)?;
                module.pop();
            }
            syn::Item::Macro(m) => macro_item(path, m, module, out)?,
            syn::Item::Struct(s) => {
                if let Some(pg) = sql_types::postgres_type(path, &s.attrs)? {
                    out.custom_types.push(CustomType {
                        module: module.clone(),
                        rust_name: s.ident.to_string(),
                        pg,
                    });
                } else if module.last().is_some_and(|m| m == "sql_types") {
                    return Err(model_error(
                        path,
                        s.span(),
                        format!(
                            "struct `{}` in a `sql_types` module has no `#[diesel(postgres_type(name = \"...\"))]`",
                            s.ident
                        ),
                    ));
                }
            }
            syn::Item::Enum(e) if enums::has_derive(&e.attrs, "DbEnum") => {
                out.enums.push(enums::db_enum(path, e)?);
            }
            // `use`, functions, impls and other items declare no table.
            _ => {}
        }
    }
    Ok(())
}

fn macro_item(
    path: &Path,
    m: &syn::ItemMacro,
    module: &[String],
    out: &mut RustFile,
) -> Result<(), SchemaError> {
    let name = last_segment(&m.mac.path);
    match name.as_str() {
        "table" => {
            let decl: TableDecl = syn::parse2(m.mac.tokens.clone())
                .map_err(|e| model_error(path, e.span(), format!("in `table!`: {e}")))?;
            out.tables.push(table::table_item(path, &decl, module, m.span())?);
        }
        "joinable" => {
            let j: joinable::JoinableTokens = syn::parse2(m.mac.tokens.clone())
                .map_err(|e| model_error(path, e.span(), format!("in `joinable!`: {e}")))?;
            out.joinables.push(Joinable {
                module: module.to_vec(),
                child: j.child.to_string(),
                parent: j.parent.to_string(),
                column: j.column.to_string(),
                location: location(path, m.span()),
            });
        }
        "allow_tables_to_appear_in_same_query" | "allow_columns_to_appear_in_same_group_by_clause" => {}
        other => {
            return Err(model_error(
                path,
                m.span(),
                format!("unsupported macro `{other}!` in a schema file (dmig reads `table!`, `joinable!` and `allow_tables_to_appear_in_same_query!`)"),
            ))
        }
    }
    Ok(())
}

/// The `schema.rs` side as a [`Schema`]: tables with their keys, foreign
/// keys from `joinable!`, custom types resolved, and enum labels where the
/// models give them.
pub fn to_model(files: &[RustFile]) -> Result<Schema, SchemaError> {
    let customs: Vec<&CustomType> = files.iter().flat_map(|f| &f.custom_types).collect();
    let mut schema = Schema::default();
    let mut by_rust: BTreeMap<String, Vec<(Vec<String>, QualName)>> = BTreeMap::new();
    for file in files {
        for item in &file.tables {
            let mut table = item.table.clone();
            for (index, name, uses) in &item.custom_columns {
                let column = &mut table.columns[*index];
                let resolved = sql_types::resolve_custom(&customs, name, &item.module, uses)
                    .map_err(|m| SchemaError::Model {
                        location: column.origin.clone().unwrap_or_default(),
                        message: format!("column `{}.{}`: {m}", item.table.name, column.name),
                    })?;
                column.ty.base = BaseType::Named(resolved);
            }
            if let Some(previous) = schema.tables.get(&table.name) {
                return Err(SchemaError::Model {
                    location: table.origin.clone().unwrap_or_default(),
                    message: format!(
                        "table `{}` is declared twice (also at {})",
                        table.name,
                        previous.origin.clone().unwrap_or_default()
                    ),
                });
            }
            by_rust
                .entry(item.rust_name.clone())
                .or_default()
                .push((item.module.clone(), table.name.clone()));
            schema.tables.insert(table.name.clone(), table);
        }
    }
    joinable::add_foreign_keys(files, &by_rust, &mut schema)?;
    enums::add_enums(files, &customs, &mut schema)?;
    Ok(schema)
}

/// The Rust column names of a table, in column order (`joinable!` uses them).
fn file_column_rust_names(files: &[RustFile], table: &QualName) -> Vec<String> {
    files
        .iter()
        .flat_map(|f| &f.tables)
        .find(|t| t.table.name == *table)
        .map(|t| t.rust_columns())
        .unwrap_or_default()
}

impl TableItem {
    fn rust_columns(&self) -> Vec<String> {
        self.table
            .columns
            .iter()
            .map(|c| {
                self.rust_names
                    .get(&c.name)
                    .cloned()
                    .unwrap_or_else(|| c.name.clone())
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::model::{ColumnType, Modifier};

    fn model(text: &str) -> Result<Schema, SchemaError> {
        let path = Path::new("src/schema.rs");
        to_model(&[parse_file(path, text)?])
    }

    #[test]
    fn an_unknown_type_is_an_error_at_its_file_line_and_column() {
        let err = model("diesel::table! {\n    users (id) {\n        id -> Int4,\n        x -> Strange,\n    }\n}\n")
            .expect_err("unknown type");
        let text = err.to_string();
        assert!(
            text.starts_with("src/schema.rs:4:9: column `users.x`: unknown SQL type `Strange`"),
            "{text}"
        );
    }

    #[test]
    fn unsupported_constructs_are_errors_with_locations() {
        let err = model("diesel::view! { v { id -> Int4, } }\n").expect_err("macro");
        assert!(
            err.to_string()
                .starts_with("src/schema.rs:1:1: unsupported macro `view!`"),
            "{err}"
        );
        let err = model("mod other;\n").expect_err("mod");
        assert!(
            err.to_string()
                .contains("`mod other;` points at another file"),
            "{err}"
        );
        let err = model("pub mod sql_types {\n    pub struct Mood;\n}\n").expect_err("struct");
        assert!(
            err.to_string()
                .starts_with("src/schema.rs:2:5: struct `Mood`"),
            "{err}"
        );
        let err = model("diesel::table! {\n    users (id) {\n        #[max_length = 3]\n        id -> Int4,\n    }\n}\n")
            .expect_err("max_length on int");
        assert!(
            err.to_string()
                .contains("`#[max_length]` on column `users.id`"),
            "{err}"
        );
        let err = model("diesel::table! { users (uid) { id -> Int4, } }\n").expect_err("key");
        assert!(
            err.to_string().contains("primary key column `uid`"),
            "{err}"
        );
        let err = model("diesel::table! { users { id -> Int4, } }\ndiesel::joinable!(posts -> users (user_id));\n")
            .expect_err("joinable");
        assert!(
            err.to_string().starts_with(
                "src/schema.rs:2:1: `joinable!(posts -> users (user_id))`: no table `posts`"
            ),
            "{err}"
        );
    }

    #[test]
    fn tables_keys_types_and_joinables_become_the_model() {
        let schema = model(
            r#"
pub mod sql_types {
    #[derive(diesel::sql_types::SqlType)]
    #[diesel(postgres_type(name = "mood", schema = "app"))]
    pub struct Mood;
}
diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::Mood;
    /// Docs are fine.
    #[sql_name = "People"]
    people (pid) {
        pid -> BigSerial,
        #[sql_name = "Mood"]
        mood -> Nullable<Mood>,
        tags -> Array<Nullable<Text>>,
        #[max_length = 3]
        code -> Bpchar,
        during -> Nullable<Range<Timestamptz>>,
    }
}
diesel::table! { pets (owner_id, name) { owner_id -> Int8, name -> Text, } }
diesel::joinable!(pets -> people (owner_id));
diesel::allow_tables_to_appear_in_same_query!(people, pets,);
"#,
        )
        .expect("model");
        let people = &schema.tables[&QualName::new("public", "People")];
        assert_eq!(
            people.primary_key.as_ref().map(|k| k.columns.clone()),
            Some(vec!["pid".to_string()])
        );
        assert!(people.columns[0].serial);
        assert_eq!(people.columns[1].name, "Mood");
        assert!(people.columns[1].nullable);
        assert_eq!(
            people.columns[1].ty.base,
            BaseType::Named(QualName::new("app", "mood"))
        );
        assert!(people.columns[2].ty.array && !people.columns[2].nullable);
        assert_eq!(people.columns[3].ty.modifier, Some(Modifier::Length(3)));
        assert_eq!(people.columns[4].ty, ColumnType::builtin("tstzrange"));
        let pets = &schema.tables[&QualName::new("public", "pets")];
        assert_eq!(pets.primary_key.as_ref().map(|k| k.columns.len()), Some(2));
        assert_eq!(pets.foreign_keys.len(), 1);
        assert_eq!(pets.foreign_keys[0].name, "pets_owner_id_fkey");
        assert_eq!(
            pets.foreign_keys[0].references,
            QualName::new("public", "People")
        );
        assert_eq!(pets.foreign_keys[0].referenced_columns, ["pid"]);
    }

    #[test]
    fn db_enum_labels_follow_diesel_derive_enum() {
        let schema = model(
            r#"
#[derive(DbEnum)]
#[PgType = "job_state"]
pub enum JobState { Queued, InProgress, #[db_rename = "done!"] Done, HTTPError }
#[derive(diesel_derive_enum::DbEnum)]
#[DbValueStyle = "PascalCase"]
pub enum Color { DarkRed, Blue }
"#,
        )
        .expect("model");
        let job = &schema.enums[&QualName::new("public", "job_state")];
        assert_eq!(
            job.labels.as_deref(),
            Some(
                &[
                    "queued".to_string(),
                    "in_progress".into(),
                    "done!".into(),
                    "http_error".into()
                ][..]
            )
        );
        let color = &schema.enums[&QualName::new("public", "color")];
        assert_eq!(
            color.labels.as_deref(),
            Some(&["DarkRed".to_string(), "Blue".into()][..])
        );
    }
}
