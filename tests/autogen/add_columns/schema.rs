diesel::table! {
    users (id) {
        id -> Int4,
        name -> Text,
        #[max_length = 100]
        email -> Nullable<Varchar>,
        bio -> Nullable<Text>,
        score -> Int8,
    }
}
