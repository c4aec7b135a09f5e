#[derive(diesel_derive_enum::DbEnum)]
#[ExistingTypePath = "crate::schema::sql_types::Mood"]
pub enum Mood {
    Sad,
    Happy,
}
