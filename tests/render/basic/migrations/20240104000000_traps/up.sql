/* A block comment /* nested */ with a ; inside */
CREATE TABLE traps (
    secret TEXT DEFAULT '$pbkdf2-sha512$25000$abc$',
    quoted TEXT DEFAULT E'it\'s -- not a comment;',
    note   TEXT DEFAULT 'déjà vu; naïve café'
);
CREATE FUNCTION traps_count() RETURNS bigint LANGUAGE plpgsql AS $BODY$
DECLARE n bigint; -- $$ inside a tagged body
BEGIN
    SELECT count(*) INTO n FROM traps;
    RETURN n;
END
$BODY$
-- trailing comment, no newline