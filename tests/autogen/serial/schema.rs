diesel::table! {
    counters (id) {
        id -> Serial,
        label -> Text,
    }
}

diesel::table! {
    events (id) {
        id -> BigSerial,
        counter_id -> Int4,
    }
}

diesel::joinable!(events -> counters (counter_id));
diesel::allow_tables_to_appear_in_same_query!(counters, events,);
