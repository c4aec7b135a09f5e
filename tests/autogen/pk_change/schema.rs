diesel::table! {
    tags (name, scope) {
        id -> Int4,
        name -> Text,
        scope -> Text,
    }
}
