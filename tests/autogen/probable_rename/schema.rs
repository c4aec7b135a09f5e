diesel::table! {
    users (id) {
        id -> Int4,
        full_name -> Text,
    }
}

diesel::table! {
    articles (id) {
        id -> Int4,
        title -> Text,
    }
}
