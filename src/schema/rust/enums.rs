//! Enum labels from `#[derive(DbEnum)]` (diesel-derive-enum): the target
//! type (`ExistingTypePath` or `PgType`), `DbValueStyle` and `db_rename`.
//! `schema.rs` names enum types but never their labels.

use std::path::Path;

use syn::spanned::Spanned;

use super::{last_segment, location, model_error, CustomType, DbEnum, EnumTarget, RustFile};
use crate::schema::model::{EnumType, QualName, Schema};
use crate::schema::SchemaError;

pub(super) fn has_derive(attrs: &[syn::Attribute], name: &str) -> bool {
    attrs
        .iter()
        .filter(|a| a.path().is_ident("derive"))
        .any(|a| {
            let mut found = false;
            let _ = a.parse_nested_meta(|meta| {
                if meta.path.segments.last().is_some_and(|s| s.ident == name) {
                    found = true;
                }
                Ok(())
            });
            found
        })
}

fn name_value(attr: &syn::Attribute) -> Option<String> {
    match &attr.meta {
        syn::Meta::NameValue(nv) => match &nv.value {
            syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) => Some(s.value()),
            _ => None,
        },
        _ => None,
    }
}

pub(super) fn db_enum(path: &Path, e: &syn::ItemEnum) -> Result<DbEnum, SchemaError> {
    let mut target = None;
    let mut style = "snake_case".to_string();
    for attr in &e.attrs {
        let key = last_segment(attr.path());
        let value = || {
            name_value(attr).ok_or_else(|| {
                model_error(
                    path,
                    attr.span(),
                    format!("`#[{key} = \"...\"]` needs a string"),
                )
            })
        };
        match key.as_str() {
            "ExistingTypePath" => {
                target = Some(EnumTarget::Path(
                    value()?.split("::").map(str::to_string).collect(),
                ))
            }
            "PgType" => target = Some(EnumTarget::Name(value()?)),
            "DbValueStyle" => style = value()?,
            _ => {}
        }
    }
    let mut labels = Vec::new();
    for variant in &e.variants {
        let renamed = variant
            .attrs
            .iter()
            .find(|a| a.path().is_ident("db_rename"))
            .and_then(name_value);
        let label = match renamed {
            Some(label) => label,
            None => restyle(&variant.ident.to_string(), &style).ok_or_else(|| {
                model_error(path, e.span(), format!("unknown `DbValueStyle` {style:?}"))
            })?,
        };
        labels.push(label);
    }
    let target = target.unwrap_or_else(|| {
        EnumTarget::Name(restyle(&e.ident.to_string(), "snake_case").unwrap_or_default())
    });
    Ok(DbEnum {
        target,
        labels,
        location: location(path, e.span()),
    })
}

/// diesel-derive-enum's `DbValueStyle`s.
fn restyle(ident: &str, style: &str) -> Option<String> {
    let mut words: Vec<String> = Vec::new();
    let mut current = String::new();
    let chars: Vec<char> = ident.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        let boundary = c.is_uppercase()
            && i > 0
            && (chars[i - 1].is_lowercase()
                || chars[i - 1].is_ascii_digit()
                || chars.get(i + 1).is_some_and(|n| n.is_lowercase()));
        if *c == '_' {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            continue;
        }
        if boundary && !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
        current.push(*c);
    }
    if !current.is_empty() {
        words.push(current);
    }
    let lower: Vec<String> = words.iter().map(|w| w.to_lowercase()).collect();
    let capital = |w: &String| {
        let mut cs = w.chars();
        cs.next()
            .map(|f| f.to_uppercase().collect::<String>() + cs.as_str())
            .unwrap_or_default()
    };
    Some(match style {
        "snake_case" => lower.join("_"),
        "SCREAMING_SNAKE_CASE" => lower.join("_").to_uppercase(),
        "kebab-case" => lower.join("-"),
        "camelCase" => {
            let mut out = lower.first().cloned().unwrap_or_default();
            for w in lower.iter().skip(1) {
                out.push_str(&capital(w));
            }
            out
        }
        "PascalCase" => lower.iter().map(capital).collect(),
        "lowercase" => ident.to_lowercase(),
        "UPPERCASE" => ident.to_uppercase(),
        "verbatim" => ident.to_string(),
        _ => return None,
    })
}

/// Add the enums of `files` to `schema`, their types resolved against the
/// `sql_types` structs (`customs`).
pub(super) fn add_enums(
    files: &[RustFile],
    customs: &[&CustomType],
    schema: &mut Schema,
) -> Result<(), SchemaError> {
    for file in files {
        for e in &file.enums {
            let name = match &e.target {
                EnumTarget::Name(name) => QualName::new("public", name.clone()),
                EnumTarget::Path(segments) => {
                    let rust = segments.last().cloned().unwrap_or_default();
                    let module: Vec<String> = segments[..segments.len().saturating_sub(1)]
                        .iter()
                        .filter(|s| !matches!(s.as_str(), "crate" | "self" | "super"))
                        .cloned()
                        .collect();
                    let matching: Vec<&&CustomType> = customs
                        .iter()
                        .filter(|c| c.rust_name == rust && module.ends_with(&c.module))
                        .collect();
                    let matching = if matching.is_empty() {
                        customs.iter().filter(|c| c.rust_name == rust).collect()
                    } else {
                        matching
                    };
                    match matching.as_slice() {
                        [one] => one.pg.clone(),
                        _ => {
                            return Err(SchemaError::Model {
                                location: e.location.clone(),
                                message: format!(
                                    "`ExistingTypePath = \"{}\"` names no single `sql_types` struct in the schema files",
                                    segments.join("::")
                                ),
                            })
                        }
                    }
                }
            };
            schema.enums.insert(
                name.clone(),
                EnumType {
                    name,
                    labels: Some(e.labels.clone()),
                    origin: Some(e.location.clone()),
                },
            );
        }
    }
    Ok(())
}
