-- Every word the search index has ever held, for "did you mean" when a search
-- finds nothing (SQLite reads the same from FTS5's vocabulary table,
-- products_fts_terms). Words are never removed: a correction to a word no
-- product has any more finds nothing, as the search without it did.
CREATE TABLE search_terms (term TEXT PRIMARY KEY);
INSERT INTO search_terms (term) SELECT DISTINCT unnest(tsvector_to_array(search)) FROM products ON CONFLICT DO NOTHING;

CREATE FUNCTION products_search_terms() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_terms (term) SELECT unnest(tsvector_to_array(NEW.search)) ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
CREATE TRIGGER products_search_terms AFTER INSERT OR UPDATE OF name, description ON products
    FOR EACH ROW EXECUTE FUNCTION products_search_terms();
