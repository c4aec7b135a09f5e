DROP FUNCTION traps_count();
DROP TABLE traps;
