pub mod sql_types {
    #[derive(diesel::sql_types::SqlType)]
    #[diesel(postgres_type(name = "mood"))]
    pub struct Mood;
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::Mood;

    people (id) {
        id -> Int4,
        mood -> Mood,
        history -> Nullable<Array<Nullable<Mood>>>,
    }
}
