diesel::table! {
    memberships (user_id, group_id) {
        user_id -> Int8,
        group_id -> Int8,
        role -> Text,
    }
}
