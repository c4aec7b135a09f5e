CREATE INDEX CONCURRENTLY second_first_id_idx ON second (first_id);
CREATE INDEX CONCURRENTLY first_label_idx ON first (label);
