diesel::table! {
    users (id) {
        id -> Int4,
        name -> Nullable<Text>,
        #[max_length = 100]
        email -> Varchar,
    }
}
