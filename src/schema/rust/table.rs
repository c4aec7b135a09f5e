//! One `table!`: its name, columns, types (Diesel's names mapped to
//! PostgreSQL's, `Nullable`, `Array`, ranges, `#[max_length]`), primary key,
//! and the custom types it names, resolved later against `sql_types`.

use std::collections::BTreeMap;
use std::path::Path;

use diesel_table_macro_syntax::TableDecl;
use syn::spanned::Spanned;

use super::{location, model_error, TableItem};
use crate::schema::model::{
    constraint_name, BaseType, Column, ColumnType, Modifier, PrimaryKey, QualName, Table,
};
use crate::schema::types;
use crate::schema::SchemaError;

/// Attributes every `table!` and column may carry without meaning anything
/// to the schema.
fn is_doc(attr: &syn::Attribute) -> bool {
    attr.path().is_ident("doc")
}

pub(super) fn table_item(
    path: &Path,
    decl: &TableDecl,
    module: &[String],
    span: proc_macro2::Span,
) -> Result<TableItem, SchemaError> {
    if let Some(attr) = decl.meta.iter().find(|a| !is_doc(a)) {
        return Err(model_error(
            path,
            attr.span(),
            format!(
                "unsupported attribute on table `{}` (dmig reads `#[sql_name]`)",
                decl.table_name
            ),
        ));
    }
    let schema = decl
        .schema
        .as_ref()
        .map_or_else(|| "public".to_string(), |s| s.to_string());
    let name = QualName::new(schema, decl.sql_name.clone());
    let mut table = Table::new(name);
    table.origin = Some(location(path, span));
    let uses: Vec<String> = decl
        .use_statements
        .iter()
        .flat_map(|u| use_paths(&u.tree, String::new()))
        .collect();
    let mut custom_columns = Vec::new();
    let mut rust_to_sql = BTreeMap::new();
    let mut rust_names = BTreeMap::new();
    for (index, def) in decl.column_defs.iter().enumerate() {
        if let Some(attr) = def.meta.iter().find(|a| !is_doc(a)) {
            return Err(model_error(
                path,
                attr.span(),
                format!(
                    "unsupported attribute on column `{}.{}` (dmig reads `#[sql_name]` and `#[max_length]`)",
                    decl.table_name, def.column_name
                ),
            ));
        }
        let parsed = column_type(path, &def.tpe)?;
        let mut ty = parsed.ty;
        if let Some(lit) = &def.max_length {
            let n: i32 = lit.base10_parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                model_error(path, lit.span(), "`max_length` must be a positive integer")
            })?;
            match &ty.base {
                BaseType::Builtin(t) if types::is_text(t) => {}
                _ => {
                    return Err(model_error(
                        path,
                        lit.span(),
                        format!(
                            "`#[max_length]` on column `{}.{}` of a type without a length",
                            decl.table_name, def.column_name
                        ),
                    ))
                }
            }
            ty.modifier = Some(Modifier::Length(n));
        }
        let mut column = Column::new(def.sql_name.clone(), ty, parsed.nullable);
        column.serial = parsed.serial;
        column.origin = Some(location(path, def.column_name.span()));
        if let Some(custom) = parsed.custom {
            custom_columns.push((index, custom, uses.clone()));
        }
        rust_to_sql.insert(def.column_name.to_string(), def.sql_name.clone());
        rust_names.insert(def.sql_name.clone(), def.column_name.to_string());
        table.columns.push(column);
    }
    let keys: Vec<String> = match &decl.primary_keys {
        Some(pk) => pk.keys.iter().map(|k| k.to_string()).collect(),
        None => vec!["id".to_string()],
    };
    let mut pk_columns = Vec::new();
    for key in &keys {
        let Some(sql) = rust_to_sql.get(key) else {
            return Err(model_error(
                path,
                span,
                format!(
                    "primary key column `{key}` of table `{}` is not one of its columns",
                    decl.table_name
                ),
            ));
        };
        pk_columns.push(sql.clone());
    }
    table.primary_key = Some(PrimaryKey {
        name: constraint_name(&table.name.name, None, "pkey"),
        columns: pk_columns,
    });
    Ok(TableItem {
        module: module.to_vec(),
        rust_name: decl.table_name.to_string(),
        table,
        custom_columns,
        rust_names,
    })
}

/// `use a::b::{C, d::E}` -> `a::b::C`, `a::b::d::E`.
fn use_paths(tree: &syn::UseTree, prefix: String) -> Vec<String> {
    let join = |name: &str| {
        if prefix.is_empty() {
            name.to_string()
        } else {
            format!("{prefix}::{name}")
        }
    };
    match tree {
        syn::UseTree::Path(p) => use_paths(&p.tree, join(&p.ident.to_string())),
        syn::UseTree::Name(n) => vec![join(&n.ident.to_string())],
        syn::UseTree::Rename(r) => vec![join(&r.ident.to_string())],
        syn::UseTree::Glob(_) => vec![join("*")],
        syn::UseTree::Group(g) => g
            .items
            .iter()
            .flat_map(|t| use_paths(t, prefix.clone()))
            .collect(),
    }
}

struct ParsedType {
    ty: ColumnType,
    nullable: bool,
    serial: bool,
    /// The name of a custom type, resolved later against the `sql_types` modules.
    custom: Option<String>,
}

fn generic_arg<'a>(
    path: &Path,
    segment: &'a syn::PathSegment,
) -> Result<&'a syn::TypePath, SchemaError> {
    if let syn::PathArguments::AngleBracketed(args) = &segment.arguments {
        if args.args.len() == 1 {
            if let Some(syn::GenericArgument::Type(syn::Type::Path(inner))) = args.args.first() {
                return Ok(inner);
            }
        }
    }
    Err(model_error(
        path,
        segment.span(),
        format!(
            "`{}` takes one SQL type: `{}<T>`",
            segment.ident, segment.ident
        ),
    ))
}

fn column_type(path: &Path, tpe: &syn::TypePath) -> Result<ParsedType, SchemaError> {
    let mut nullable = false;
    let mut array = false;
    let mut current = tpe;
    loop {
        let Some(segment) = current.path.segments.last() else {
            return Err(model_error(path, current.span(), "empty type"));
        };
        let name = segment.ident.to_string();
        match name.as_str() {
            "Nullable" => {
                // `Nullable` inside `Array` is the element's: PostgreSQL
                // cannot say anything about it.
                if !array {
                    if nullable {
                        return Err(model_error(path, segment.span(), "`Nullable<Nullable<T>>`"));
                    }
                    nullable = true;
                }
                current = generic_arg(path, segment)?;
            }
            "Array" => {
                array = true;
                current = generic_arg(path, segment)?;
            }
            "Range" | "Multirange" => {
                let inner = generic_arg(path, segment)?;
                let element = inner
                    .path
                    .segments
                    .last()
                    .and_then(|s| types::diesel_type(&s.ident.to_string()))
                    .ok_or_else(|| {
                        model_error(
                            path,
                            inner.span(),
                            format!("unsupported `{name}` element type"),
                        )
                    })?;
                let typname =
                    types::range_of(element.typname, name == "Multirange").ok_or_else(|| {
                        model_error(
                            path,
                            inner.span(),
                            format!("PostgreSQL has no built-in {name} of `{}`", element.typname),
                        )
                    })?;
                let mut ty = ColumnType::builtin(typname);
                ty.array = array;
                return Ok(ParsedType {
                    ty,
                    nullable,
                    serial: false,
                    custom: None,
                });
            }
            _ => {
                if !matches!(segment.arguments, syn::PathArguments::None) {
                    return Err(model_error(
                        path,
                        segment.span(),
                        format!("unsupported SQL type `{name}<...>`"),
                    ));
                }
                let explicit_custom = current.path.segments.len() > 1
                    && current
                        .path
                        .segments
                        .first()
                        .is_some_and(|s| s.ident != "diesel");
                let builtin = if explicit_custom {
                    None
                } else {
                    types::diesel_type(&name)
                };
                return Ok(match builtin {
                    Some(t) => {
                        let mut ty = ColumnType::builtin(t.typname);
                        ty.array = array;
                        ParsedType {
                            ty,
                            nullable,
                            serial: t.serial && !array,
                            custom: None,
                        }
                    }
                    None => ParsedType {
                        ty: ColumnType {
                            // Resolved against the `sql_types` structs once every file is read.
                            base: BaseType::Named(QualName::new("", name.clone())),
                            array,
                            modifier: None,
                            sql: None,
                        },
                        nullable,
                        serial: false,
                        custom: Some(name),
                    },
                });
            }
        }
    }
}
