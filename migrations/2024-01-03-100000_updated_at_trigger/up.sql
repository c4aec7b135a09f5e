-- Keep updated_at current on every UPDATE.
CREATE FUNCTION set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- A semicolon inside the body; must not end the statement.
    IF NEW IS DISTINCT FROM OLD THEN
        NEW.updated_at := now();
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER users_set_updated_at
    BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TRIGGER posts_set_updated_at
    BEFORE UPDATE ON posts
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE FUNCTION post_count(author BIGINT) RETURNS BIGINT
LANGUAGE sql STABLE AS $body$
    SELECT count(*) FROM posts WHERE author_id = author  -- '$$' is just text here
$body$ -- no semicolon after the last statement, and no newline after this comment