diesel::table! {
    tags (name) {
        id -> Int4,
        name -> Text,
    }
}

diesel::table! {
    taggings (id) {
        id -> Int4,
        tag_id -> Int4,
    }
}
