diesel::table! {
    accounts (id) {
        id -> Int4,
        unbounded -> Text,
        bounded -> Varchar,
        #[max_length = 20]
        stated -> Varchar,
        email -> Text,
        price -> Numeric,
        at -> Timestamptz,
        code -> Nullable<Text>,
        counter -> Int4,
        total -> Nullable<Float8>,
    }
}
