//! `joinable!(child -> parent (column))`: a foreign key from the child's
//! column to the parent's single-column primary key, named as PostgreSQL
//! would name it.

use std::collections::BTreeMap;

use syn::parse::{Parse, ParseStream};

use super::{file_column_rust_names, RustFile};
use crate::schema::model::{constraint_name, ForeignKey, QualName, Schema};
use crate::schema::SchemaError;

/// `child -> parent (column)`.
pub(super) struct JoinableTokens {
    pub(super) child: syn::Ident,
    pub(super) parent: syn::Ident,
    pub(super) column: syn::Ident,
}

impl Parse for JoinableTokens {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let child = input.parse()?;
        input.parse::<syn::Token![->]>()?;
        let parent = input.parse()?;
        let content;
        syn::parenthesized!(content in input);
        let column = content.parse()?;
        Ok(JoinableTokens {
            child,
            parent,
            column,
        })
    }
}

/// Add the foreign keys of the `joinable!`s of `files` to `schema`;
/// `by_rust` finds a table by its Rust name (with its module).
pub(super) fn add_foreign_keys(
    files: &[RustFile],
    by_rust: &BTreeMap<String, Vec<(Vec<String>, QualName)>>,
    schema: &mut Schema,
) -> Result<(), SchemaError> {
    for file in files {
        for j in &file.joinables {
            let find = |rust: &str| -> Result<QualName, SchemaError> {
                let candidates = by_rust.get(rust).cloned().unwrap_or_default();
                let same_module: Vec<_> =
                    candidates.iter().filter(|(m, _)| *m == j.module).collect();
                match (same_module.as_slice(), candidates.as_slice()) {
                    ([(_, name)], _) | ([], [(_, name)]) => Ok(name.clone()),
                    _ => Err(SchemaError::Model {
                        location: j.location.clone(),
                        message: format!(
                            "`joinable!({} -> {} ({}))`: {} table `{rust}`",
                            j.child,
                            j.parent,
                            j.column,
                            if candidates.is_empty() {
                                "no"
                            } else {
                                "more than one"
                            }
                        ),
                    }),
                }
            };
            let child = find(&j.child)?;
            let parent = find(&j.parent)?;
            let parent_key = schema
                .tables
                .get(&parent)
                .and_then(|t| t.primary_key.clone())
                .map(|pk| pk.columns)
                .unwrap_or_default();
            let Some(child_table) = schema.tables.get_mut(&child) else {
                continue;
            };
            // `joinable!` names the Rust column; find its SQL name.
            let column = child_table
                .columns
                .iter()
                .zip(file_column_rust_names(files, &child))
                .find(|(_, rust)| *rust == j.column)
                .map(|(c, _)| c.name.clone())
                .ok_or_else(|| SchemaError::Model {
                    location: j.location.clone(),
                    message: format!("`joinable!`: table `{child}` has no column `{}`", j.column),
                })?;
            if parent_key.len() != 1 {
                return Err(SchemaError::Model {
                    location: j.location.clone(),
                    message: format!(
                        "`joinable!`: table `{parent}` has a composite primary key; a `joinable!` foreign key needs a single-column key"
                    ),
                });
            }
            if !child_table
                .foreign_keys
                .iter()
                .any(|fk| fk.columns == [column.clone()] && fk.references == parent)
            {
                child_table.foreign_keys.push(ForeignKey {
                    name: constraint_name(&child.name, Some(&column), "fkey"),
                    columns: vec![column],
                    references: parent,
                    referenced_columns: parent_key,
                    definition: None,
                });
            }
        }
    }
    Ok(())
}
