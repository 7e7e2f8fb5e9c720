-- Finding products in a big catalog: full-text search over names (weight A)
-- and descriptions (weight B), kept current by a trigger in the same
-- transaction as the product change, and indexes for each way the catalog can
-- be sorted (the listed products only). See app/src/server/db/search.rs.

ALTER TABLE products ADD COLUMN search TSVECTOR;

-- Only when the words change: a sale (stock, units sold) never recomputes it.
CREATE FUNCTION products_search() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
BEGIN
    NEW.search := setweight(to_tsvector('simple', NEW.name), 'A') || setweight(to_tsvector('simple', NEW.description), 'B');
    RETURN NEW;
END $$;
CREATE TRIGGER products_search BEFORE INSERT OR UPDATE OF name, description ON products
    FOR EACH ROW EXECUTE FUNCTION products_search();

-- Fill it for the products already there, without logging a change for each.
ALTER TABLE products DISABLE TRIGGER products_updated;
UPDATE products SET search = setweight(to_tsvector('simple', name), 'A') || setweight(to_tsvector('simple', description), 'B');
ALTER TABLE products ENABLE TRIGGER products_updated;

CREATE INDEX products_search_index ON products USING gin (search);
CREATE INDEX products_listed_name ON products (lower(name), id) WHERE archived_at IS NULL;
CREATE INDEX products_listed_category_name ON products (category_id, lower(name), id) WHERE archived_at IS NULL;
CREATE INDEX products_listed_price ON products (price_cents, id) WHERE archived_at IS NULL;
CREATE INDEX products_listed_sold ON products (units_sold, id) WHERE archived_at IS NULL;
CREATE INDEX products_listed_category_price ON products (category_id, price_cents, id) WHERE archived_at IS NULL;
CREATE INDEX products_listed_category_sold ON products (category_id, units_sold, id) WHERE archived_at IS NULL;
