diesel::table! {
    users (id) {
        id -> Int8,
        name -> Text,
        #[max_length = 100]
        email -> Nullable<Varchar>,
        visits -> Int8,
    }
}
