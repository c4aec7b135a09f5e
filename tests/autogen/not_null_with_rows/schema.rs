diesel::table! {
    users (id) {
        id -> Int4,
        name -> Text,
        #[max_length = 100]
        email -> Nullable<Varchar>,
        tenant_id -> Int8,
    }
}
