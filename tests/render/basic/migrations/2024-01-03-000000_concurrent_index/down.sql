DROP INDEX CONCURRENTLY first_label_idx;
DROP INDEX CONCURRENTLY second_first_id_idx;
