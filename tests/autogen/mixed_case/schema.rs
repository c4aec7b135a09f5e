diesel::table! {
    #[sql_name = "UserProfiles"]
    user_profiles (id) {
        id -> Int4,
        #[sql_name = "displayName"]
        display_name -> Text,
        #[sql_name = "order"]
        order_ -> Int4,
    }
}

diesel::table! {
    Legacy (ID) {
        ID -> Int4,
        Value -> Nullable<Text>,
    }
}
