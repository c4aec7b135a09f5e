// @generated automatically by Diesel CLI.

diesel::table! {
    /// People.
    users (id) {
        id -> Int4,
        name -> Text,
        bio -> Nullable<Text>,
    }
}
