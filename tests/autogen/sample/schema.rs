// @generated automatically by Diesel CLI.

pub mod sql_types {
    #[derive(diesel::sql_types::SqlType)]
    #[diesel(postgres_type(name = "user_role"))]
    pub struct UserRole;
}

diesel::table! {
    comments (id) {
        id -> Int8,
        post_id -> Int8,
        author_id -> Int8,
        body -> Text,
    }
}

diesel::table! {
    posts (id) {
        id -> Int8,
        author_id -> Int8,
        title -> Text,
        body -> Text,
        published -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::UserRole;

    users (id) {
        id -> Int8,
        email -> Text,
        role -> UserRole,
        password_hash -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        display_name -> Text,
    }
}

diesel::joinable!(comments -> posts (post_id));
diesel::joinable!(comments -> users (author_id));
diesel::joinable!(posts -> users (author_id));

diesel::allow_tables_to_appear_in_same_query!(comments, posts, users,);
