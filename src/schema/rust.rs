//! Reading the application's `schema.rs` files: `diesel::table!` (parsed by
//! `diesel_table_macro_syntax`, the parser diesel CLI uses), `joinable!`,
//! the custom types of `sql_types` modules, and enum labels from
//! `#[derive(DbEnum)]` (diesel-derive-enum) where the models carry them.
//!
//! Anything that could declare a table and is not understood is an error
//! with `file:line:col`: a wrong guess here would become a wrong migration.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use diesel_table_macro_syntax::TableDecl;
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;

use super::model::{
    constraint_name, BaseType, Column, ColumnType, EnumType, ForeignKey, Modifier, PrimaryKey,
    QualName, Schema, Table,
};
use super::types;
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
                if let Some(pg) = postgres_type(path, &s.attrs)? {
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
            syn::Item::Enum(e) if has_derive(&e.attrs, "DbEnum") => {
                out.enums.push(db_enum(path, e)?);
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
            out.tables.push(table_item(path, &decl, module, m.span())?);
        }
        "joinable" => {
            let j: JoinableTokens = syn::parse2(m.mac.tokens.clone())
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

/// `child -> parent (column)`.
struct JoinableTokens {
    child: syn::Ident,
    parent: syn::Ident,
    column: syn::Ident,
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

/// Attributes every `table!` and column may carry without meaning anything
/// to the schema.
fn is_doc(attr: &syn::Attribute) -> bool {
    attr.path().is_ident("doc")
}

fn table_item(
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

fn has_derive(attrs: &[syn::Attribute], name: &str) -> bool {
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

/// `#[diesel(postgres_type(name = "...", schema = "..."))]`.
fn postgres_type(path: &Path, attrs: &[syn::Attribute]) -> Result<Option<QualName>, SchemaError> {
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

fn db_enum(path: &Path, e: &syn::ItemEnum) -> Result<DbEnum, SchemaError> {
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
                let resolved = resolve_custom(&customs, name, &item.module, uses).map_err(|m| {
                    SchemaError::Model {
                        location: column.origin.clone().unwrap_or_default(),
                        message: format!("column `{}.{}`: {m}", item.table.name, column.name),
                    }
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

fn resolve_custom(
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

#[cfg(test)]
mod tests {
    use super::*;

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
