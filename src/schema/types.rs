//! Diesel's SQL type names, PostgreSQL's, and how they compare.
//!
//! Diesel spells one PostgreSQL type several ways (`Int4`/`Integer`/`Serial`,
//! `Text`/`VarChar`/`Bpchar`, `Binary`/`Bytea`/`Blob`/`Bit`); every spelling
//! becomes the `pg_catalog` `typname` here, so both sides compare as
//! PostgreSQL sees them, and DDL is written in PostgreSQL's own words
//! (`REAL`, not diesel CLI's `FLOAT`, which PostgreSQL reads as float8).

use super::model::{BaseType, ColumnType, Modifier};

/// How a Diesel type name maps to PostgreSQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DieselType {
    /// The `pg_catalog` type name.
    pub typname: &'static str,
    /// `Serial` / `BigSerial`.
    pub serial: bool,
}

/// The PostgreSQL type behind a Diesel SQL type name (the last path segment
/// of a `table!` column type), or `None` when Diesel has no such PostgreSQL type.
pub fn diesel_type(name: &str) -> Option<DieselType> {
    let plain = |typname| {
        Some(DieselType {
            typname,
            serial: false,
        })
    };
    match name {
        "Bool" => plain("bool"),
        "SmallInt" | "Int2" | "Smallint" => plain("int2"),
        "Integer" | "Int4" => plain("int4"),
        "BigInt" | "Int8" | "Bigint" => plain("int8"),
        "Serial" => Some(DieselType {
            typname: "int4",
            serial: true,
        }),
        "BigSerial" => Some(DieselType {
            typname: "int8",
            serial: true,
        }),
        "Float" | "Float4" => plain("float4"),
        "Double" | "Float8" => plain("float8"),
        "Numeric" | "Decimal" => plain("numeric"),
        // `Char` is an alias of `Text` in Diesel, not char(1).
        "Text" | "Char" => plain("text"),
        "VarChar" | "Varchar" => plain("varchar"),
        "Bpchar" => plain("bpchar"),
        "Binary" | "Bytea" | "Blob" | "Bit" => plain("bytea"),
        "Date" => plain("date"),
        "Time" => plain("time"),
        "Timestamp" => plain("timestamp"),
        "Timestamptz" => plain("timestamptz"),
        "Interval" => plain("interval"),
        "Uuid" => plain("uuid"),
        "Json" => plain("json"),
        "Jsonb" => plain("jsonb"),
        "Inet" => plain("inet"),
        "Cidr" => plain("cidr"),
        "MacAddr" => plain("macaddr"),
        "MacAddr8" => plain("macaddr8"),
        "Money" => plain("money"),
        "Oid" => plain("oid"),
        "CChar" => plain("char"),
        "Int4range" => plain("int4range"),
        "Int8range" => plain("int8range"),
        "Numrange" => plain("numrange"),
        "Tsrange" => plain("tsrange"),
        "Tstzrange" => plain("tstzrange"),
        "Daterange" => plain("daterange"),
        "Int4multirange" => plain("int4multirange"),
        "Int8multirange" => plain("int8multirange"),
        "Nummultirange" => plain("nummultirange"),
        "Tsmultirange" => plain("tsmultirange"),
        "Tstzmultirange" => plain("tstzmultirange"),
        "Datemultirange" => plain("datemultirange"),
        _ => None,
    }
}

/// `Range<T>` / `Multirange<T>`: the range type over `T`'s typname.
pub fn range_of(element: &str, multi: bool) -> Option<&'static str> {
    Some(match (element, multi) {
        ("int4", false) => "int4range",
        ("int8", false) => "int8range",
        ("numeric", false) => "numrange",
        ("timestamp", false) => "tsrange",
        ("timestamptz", false) => "tstzrange",
        ("date", false) => "daterange",
        ("int4", true) => "int4multirange",
        ("int8", true) => "int8multirange",
        ("numeric", true) => "nummultirange",
        ("timestamp", true) => "tsmultirange",
        ("timestamptz", true) => "tstzmultirange",
        ("date", true) => "datemultirange",
        _ => return None,
    })
}

/// Text types Diesel treats as one (`Text = VarChar`, `Bpchar = VarChar`).
pub fn is_text(typname: &str) -> bool {
    matches!(typname, "text" | "varchar" | "bpchar")
}

fn is_number(typname: &str) -> bool {
    matches!(
        typname,
        "int2" | "int4" | "int8" | "float4" | "float8" | "numeric"
    )
}

/// The comparison key of a built-in type: text types are one family.
pub fn family(typname: &str) -> &str {
    if is_text(typname) {
        "text"
    } else {
        typname
    }
}

/// The SQL spelling of a type, the way a person writes it.
pub fn type_sql(ty: &ColumnType) -> String {
    let mut out = match &ty.base {
        BaseType::Named(name) => name.sql(),
        BaseType::Builtin(typname) => {
            let spelled = builtin_sql(typname);
            match (typname.as_str(), ty.modifier) {
                ("bpchar", Some(Modifier::Length(n))) => format!("CHAR({n})"),
                ("bpchar", None) => "BPCHAR".to_string(),
                (_, Some(Modifier::Length(n))) => format!("{spelled}({n})"),
                (_, Some(Modifier::Numeric(p, s))) => format!("{spelled}({p}, {s})"),
                (_, Some(Modifier::Precision(p))) => format!("{spelled}({p})"),
                (_, None) => spelled,
            }
        }
    };
    if ty.array {
        out.push_str("[]");
    }
    out
}

fn builtin_sql(typname: &str) -> String {
    match typname {
        "int2" => "SMALLINT".into(),
        "int4" => "INTEGER".into(),
        "int8" => "BIGINT".into(),
        "float4" => "REAL".into(),
        "float8" => "DOUBLE PRECISION".into(),
        "bool" => "BOOLEAN".into(),
        "char" => "\"char\"".into(),
        other => other.to_ascii_uppercase(),
    }
}

/// Whether `ALTER COLUMN ... TYPE to` keeps every value of `from` exactly
/// (int4 to int8, varchar(10) to varchar(20) or text, float4 to float8).
pub fn is_widening(from: &ColumnType, to: &ColumnType) -> bool {
    if from.array != to.array {
        return false;
    }
    let (BaseType::Builtin(f), BaseType::Builtin(t)) = (&from.base, &to.base) else {
        return from.base == to.base && to.modifier.is_none();
    };
    let length = |ty: &ColumnType| match ty.modifier {
        Some(Modifier::Length(n)) => Some(n),
        _ => None,
    };
    if is_text(f) && is_text(t) {
        return match (length(from), length(to)) {
            (_, None) => t != "bpchar",
            (Some(a), Some(b)) => a <= b && (t != "bpchar" || f == "bpchar"),
            (None, Some(_)) => false,
        };
    }
    let rank = |t: &str| match t {
        "int2" => Some(1),
        "int4" => Some(2),
        "int8" => Some(3),
        _ => None,
    };
    match (f.as_str(), t.as_str()) {
        (a, b) if a == b => to.modifier.is_none() || to.modifier == from.modifier,
        (a, "numeric") if rank(a).is_some() => to.modifier.is_none(),
        ("float4", "float8") => true,
        (a, b) => matches!((rank(a), rank(b)), (Some(x), Some(y)) if x < y),
    }
}

/// Whether PostgreSQL converts `from` to `to` without a `USING` clause (an
/// implicit or assignment cast exists).
pub fn casts_without_using(from: &ColumnType, to: &ColumnType) -> bool {
    if from.array != to.array {
        return false;
    }
    match (&from.base, &to.base) {
        (BaseType::Builtin(f), BaseType::Builtin(t)) => {
            f == t || (is_text(f) && is_text(t)) || (is_number(f) && is_number(t))
        }
        (a, b) => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ty(name: &str, modifier: Option<Modifier>) -> ColumnType {
        ColumnType {
            modifier,
            ..ColumnType::builtin(name)
        }
    }

    #[test]
    fn diesel_aliases_become_postgres_types() {
        for (diesel, pg) in [
            ("Float", "float4"),
            ("Double", "float8"),
            ("Binary", "bytea"),
            ("Bit", "bytea"),
            ("Char", "text"),
            ("Integer", "int4"),
            ("BigInt", "int8"),
            ("Decimal", "numeric"),
        ] {
            assert_eq!(diesel_type(diesel).map(|t| t.typname), Some(pg), "{diesel}");
        }
        assert!(diesel_type("Serial").is_some_and(|t| t.serial));
        assert_eq!(diesel_type("Unsigned"), None);
    }

    #[test]
    fn sql_spelling_is_postgres_own() {
        assert_eq!(type_sql(&ty("float4", None)), "REAL");
        assert_eq!(type_sql(&ty("float8", None)), "DOUBLE PRECISION");
        assert_eq!(type_sql(&ty("bytea", None)), "BYTEA");
        assert_eq!(
            type_sql(&ty("bpchar", Some(Modifier::Length(3)))),
            "CHAR(3)"
        );
        assert_eq!(
            type_sql(&ty("varchar", Some(Modifier::Length(20)))),
            "VARCHAR(20)"
        );
        let mut array = ty("int4", None);
        array.array = true;
        assert_eq!(type_sql(&array), "INTEGER[]");
    }

    #[test]
    fn widening_is_what_keeps_every_value() {
        assert!(is_widening(&ty("int4", None), &ty("int8", None)));
        assert!(!is_widening(&ty("int8", None), &ty("int4", None)));
        assert!(is_widening(
            &ty("varchar", Some(Modifier::Length(10))),
            &ty("text", None)
        ));
        assert!(!is_widening(
            &ty("varchar", Some(Modifier::Length(10))),
            &ty("varchar", Some(Modifier::Length(5)))
        ));
        assert!(!is_widening(&ty("text", None), &ty("int4", None)));
        assert!(casts_without_using(&ty("int4", None), &ty("int8", None)));
        assert!(!casts_without_using(&ty("text", None), &ty("int4", None)));
    }
}
