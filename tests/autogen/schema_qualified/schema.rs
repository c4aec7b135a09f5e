pub mod app {
    pub mod sql_types {
        #[derive(diesel::sql_types::SqlType)]
        #[diesel(postgres_type(name = "status", schema = "app"))]
        pub struct Status;
    }

    diesel::table! {
        use diesel::sql_types::*;
        use super::sql_types::Status;

        app.things (id) {
            id -> Int8,
            status -> Status,
            #[max_length = 12]
            sku -> Varchar,
        }
    }

    diesel::table! {
        app.parts (id) {
            id -> Int8,
            thing_id -> Int8,
        }
    }

    diesel::joinable!(parts -> things (thing_id));
}
