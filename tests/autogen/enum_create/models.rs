#[derive(Debug, diesel_derive_enum::DbEnum)]
#[ExistingTypePath = "crate::schema::sql_types::Mood"]
pub enum Mood {
    Happy,
    #[db_rename = "so-so"]
    SoSo,
    VerySad,
}
