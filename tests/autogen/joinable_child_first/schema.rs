diesel::table! {
    comments (id) {
        id -> Int8,
        post_id -> Int8,
        body -> Text,
    }
}

diesel::table! {
    posts (id) {
        id -> Int8,
        author_id -> Int8,
        title -> Text,
    }
}

diesel::table! {
    authors (id) {
        id -> Int8,
        name -> Text,
    }
}

diesel::joinable!(comments -> posts (post_id));
diesel::joinable!(posts -> authors (author_id));
diesel::allow_tables_to_appear_in_same_query!(authors, comments, posts,);
