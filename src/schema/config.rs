//! `diesel.toml`'s `[print_schema]`: which file holds the models, which
//! database schema it describes, and which tables it covers (`filter`), for
//! the main section and each `[print_schema.<key>]`. Paths are relative to
//! the `diesel.toml`. dmig only reads the file, as everywhere else.

use std::path::{Path, PathBuf};

use regex::Regex;

use super::model::QualName;
use super::SchemaError;

/// Which tables a `schema.rs` covers: diesel CLI's `filter`, matched (as
/// diesel CLI does) anywhere in the table's unqualified name.
#[derive(Debug, Clone, Default)]
pub enum Filter {
    /// Every table.
    #[default]
    All,
    /// `only_tables`: the tables matching one of these.
    Only(Vec<Regex>),
    /// `except_tables`: the tables matching none of these.
    Except(Vec<Regex>),
}

impl Filter {
    /// Whether the filter keeps `table` (its unqualified name).
    pub fn keeps(&self, table: &str) -> bool {
        match self {
            Filter::All => true,
            Filter::Only(res) => res.iter().any(|r| r.is_match(table)),
            Filter::Except(res) => !res.iter().any(|r| r.is_match(table)),
        }
    }
}

/// One `[print_schema]` section.
#[derive(Debug, Clone, Default)]
pub struct PrintSchema {
    /// `None` for `[print_schema]`, the key of `[print_schema.<key>]`.
    pub key: Option<String>,
    /// `file`, resolved against the `diesel.toml`.
    pub file: Option<PathBuf>,
    /// `schema` (default `public`).
    pub schema: Option<String>,
    /// `filter`.
    pub filter: Filter,
}

/// The part of the database a set of schema files speaks for.
#[derive(Debug, Clone)]
pub struct Scope {
    /// The database schema.
    pub schema: String,
    /// The tables of it.
    pub filter: Filter,
}

impl Scope {
    /// Every table of `public`.
    pub fn public() -> Scope {
        Scope {
            schema: "public".into(),
            filter: Filter::All,
        }
    }

    /// Whether `table` is inside this scope.
    pub fn covers(&self, table: &QualName) -> bool {
        table.schema == self.schema && self.filter.keeps(&table.name)
    }
}

impl PrintSchema {
    /// The scope this section describes.
    pub fn scope(&self) -> Scope {
        Scope {
            schema: self.schema.clone().unwrap_or_else(|| "public".into()),
            filter: self.filter.clone(),
        }
    }
}

fn invalid(path: &Path, reason: impl Into<String>) -> SchemaError {
    SchemaError::Config {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// Every `[print_schema]` section of a `diesel.toml` (the main one first,
/// then the keyed ones by key). No section: an empty list.
pub fn read_print_schema(path: &Path) -> Result<Vec<PrintSchema>, SchemaError> {
    let text = std::fs::read_to_string(path).map_err(|source| SchemaError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_print_schema(path, &text)
}

/// [`read_print_schema`] on text already read; `path` resolves `file` and names errors.
pub fn parse_print_schema(path: &Path, text: &str) -> Result<Vec<PrintSchema>, SchemaError> {
    let doc: toml::Table = toml::from_str(text).map_err(|e| invalid(path, e.to_string()))?;
    let Some(section) = doc.get("print_schema") else {
        return Ok(Vec::new());
    };
    let table = section
        .as_table()
        .ok_or_else(|| invalid(path, "`print_schema` is not a table"))?;
    let base = path.parent().unwrap_or(Path::new("."));
    let mut out = vec![section_of(path, base, None, table)?];
    for (key, value) in table {
        if key == "filter" {
            continue;
        }
        if let Some(sub) = value.as_table() {
            out.push(section_of(path, base, Some(key.clone()), sub)?);
        }
    }
    Ok(out)
}

fn section_of(
    path: &Path,
    base: &Path,
    key: Option<String>,
    table: &toml::Table,
) -> Result<PrintSchema, SchemaError> {
    let where_ = match &key {
        Some(k) => format!("[print_schema.{k}]"),
        None => "[print_schema]".to_string(),
    };
    let string = |name: &str| -> Result<Option<String>, SchemaError> {
        match table.get(name) {
            None => Ok(None),
            Some(toml::Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(invalid(path, format!("{where_} `{name}` is not a string"))),
        }
    };
    let file = string("file")?.map(|f| base.join(f));
    let schema = string("schema")?;
    let filter = match table.get("filter") {
        None => Filter::All,
        Some(toml::Value::Table(f)) => {
            let list = |name: &str| -> Result<Option<Vec<Regex>>, SchemaError> {
                let Some(value) = f.get(name) else {
                    return Ok(None);
                };
                let items = value.as_array().ok_or_else(|| {
                    invalid(path, format!("{where_} `filter.{name}` is not a list"))
                })?;
                items
                    .iter()
                    .map(|item| {
                        let text = item.as_str().ok_or_else(|| {
                            invalid(path, format!("{where_} `filter.{name}` holds a non-string"))
                        })?;
                        Regex::new(text).map_err(|e| {
                            invalid(path, format!("{where_} `filter.{name}`: {text:?}: {e}"))
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map(Some)
            };
            match (list("only_tables")?, list("except_tables")?) {
                (Some(_), Some(_)) => {
                    return Err(invalid(
                        path,
                        format!("{where_} `filter` has both only_tables and except_tables"),
                    ))
                }
                (Some(only), None) => Filter::Only(only),
                (None, Some(except)) => Filter::Except(except),
                (None, None) => Filter::All,
            }
        }
        Some(_) => return Err(invalid(path, format!("{where_} `filter` is not a table"))),
    };
    Ok(PrintSchema {
        key,
        file,
        schema,
        filter,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_files_schemas_and_filters() {
        let path = Path::new("/p/diesel.toml");
        let sections = parse_print_schema(
            path,
            r#"
[print_schema]
file = "src/schema.rs"
filter = { except_tables = ["^background_jobs$"] }

[print_schema.jobs]
file = "src/jobs_schema.rs"
schema = "jobs"
filter = { only_tables = ["job"] }

[migrations_directory]
dir = "migrations"
"#,
        )
        .expect("parse");
        assert_eq!(sections.len(), 2);
        assert_eq!(
            sections[0].file.as_deref(),
            Some(Path::new("/p/src/schema.rs"))
        );
        assert!(!sections[0].filter.keeps("background_jobs"));
        assert!(sections[0].filter.keeps("users"));
        assert_eq!(sections[1].key.as_deref(), Some("jobs"));
        let scope = sections[1].scope();
        assert!(scope.covers(&QualName::new("jobs", "jobs_queue")));
        assert!(!scope.covers(&QualName::new("public", "jobs_queue")));
        assert!(!scope.covers(&QualName::new("jobs", "users")));
    }

    #[test]
    fn a_bad_filter_names_the_file_and_section() {
        let err = parse_print_schema(
            Path::new("diesel.toml"),
            "[print_schema]\nfilter = { only_tables = [\"(\"] }\n",
        )
        .expect_err("bad regex");
        let text = err.to_string();
        assert!(
            text.contains("diesel.toml") && text.contains("[print_schema]"),
            "{text}"
        );
    }
}
