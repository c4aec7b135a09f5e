//! The custom types of `sql_types` modules
//! (`#[diesel(postgres_type(name = ..., schema = ...))]`) and how a column's
//! type name finds its struct among several modules.

use std::path::Path;

use syn::spanned::Spanned;

use super::{model_error, CustomType};
use crate::schema::model::QualName;
use crate::schema::SchemaError;

/// `#[diesel(postgres_type(name = "...", schema = "..."))]`.
pub(super) fn postgres_type(
    path: &Path,
    attrs: &[syn::Attribute],
) -> Result<Option<QualName>, SchemaError> {
    let mut found = None;
    for attr in attrs.iter().filter(|a| a.path().is_ident("diesel")) {
        let mut name = None;
        let mut schema = None;
        let mut other = None;
        let mut seen = false;
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("postgres_type") {
                seen = true;
                meta.parse_nested_meta(|inner| {
                    let value: syn::LitStr = inner.value()?.parse()?;
                    if inner.path.is_ident("name") {
                        name = Some(value.value());
                    } else if inner.path.is_ident("schema") {
                        schema = Some(value.value());
                    } else {
                        other = Some(inner.path.span());
                    }
                    Ok(())
                })
            } else {
                // Other `#[diesel(...)]` options (sqlite_type, mysql_type) say nothing for PostgreSQL.
                let _ = meta.input.parse::<proc_macro2::TokenStream>();
                Ok(())
            }
        })
        .map_err(|e| model_error(path, e.span(), format!("in `#[diesel(...)]`: {e}")))?;
        if let Some(span) = other {
            return Err(model_error(
                path,
                span,
                "unsupported `postgres_type` option (dmig reads `name` and `schema`; `oid` types cannot be created)",
            ));
        }
        if seen {
            let name = name.ok_or_else(|| {
                model_error(
                    path,
                    attr.span(),
                    "`postgres_type(...)` without `name = \"...\"`",
                )
            })?;
            found = Some(QualName::new(
                schema.unwrap_or_else(|| "public".into()),
                name,
            ));
        }
    }
    Ok(found)
}

pub(super) fn resolve_custom(
    customs: &[&CustomType],
    name: &str,
    module: &[String],
    uses: &[String],
) -> Result<QualName, String> {
    let named: Vec<&&CustomType> = customs.iter().filter(|c| c.rust_name == name).collect();
    let mut distinct: Vec<&QualName> = named.iter().map(|c| &c.pg).collect();
    distinct.sort();
    distinct.dedup();
    match distinct.as_slice() {
        [] => Err(format!(
            "unknown SQL type `{name}`: neither a Diesel PostgreSQL type nor a struct with `#[diesel(postgres_type(...))]` in a `sql_types` module of the schema files"
        )),
        [one] => Ok((*one).clone()),
        _ => {
            // Several modules define `name`: take the one the table imports,
            // else the one in the table's own module's `sql_types`.
            let suffix = format!("::{name}");
            let imported: Option<Vec<String>> = uses.iter().find(|u| u.ends_with(&suffix)).map(|u| {
                let mut path = module.to_vec();
                for segment in u.split("::") {
                    match segment {
                        "super" => {
                            path.pop();
                        }
                        "self" => {}
                        "crate" => path.clear(),
                        other => path.push(other.to_string()),
                    }
                }
                path.pop();
                path
            });
            let mut own = module.to_vec();
            own.push("sql_types".into());
            named
                .iter()
                .find(|c| imported.as_ref().is_some_and(|p| p.ends_with(&c.module)))
                .or_else(|| named.iter().find(|c| c.module == own))
                .map(|c| c.pg.clone())
                .ok_or_else(|| format!("SQL type `{name}` is defined in several `sql_types` modules"))
        }
    }
}
