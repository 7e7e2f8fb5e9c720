-- Finding products in a big catalog: full-text search over names and
-- descriptions, kept current by triggers in the same transaction as the
-- product change, and indexes for each way the catalog can be sorted (the
-- listed products only). See app/src/server/db/search.rs.

-- The index keeps its own copy of the words (no external content): FTS5
-- never reads the products table back, which under concurrent writers
-- intermittently failed with "no such table: products".
CREATE VIRTUAL TABLE products_fts USING fts5(
    name, description,
    tokenize = 'unicode61 remove_diacritics 2'
);
INSERT INTO products_fts (rowid, name, description) SELECT id, name, description FROM products;

CREATE TRIGGER products_fts_inserted AFTER INSERT ON products
BEGIN
    INSERT INTO products_fts (rowid, name, description) VALUES (NEW.id, NEW.name, NEW.description);
END;

-- Only when the words change: a sale (stock, units sold) never touches the index.
CREATE TRIGGER products_fts_updated AFTER UPDATE OF id, name, description ON products
BEGIN
    DELETE FROM products_fts WHERE rowid = OLD.id;
    INSERT INTO products_fts (rowid, name, description) VALUES (NEW.id, NEW.name, NEW.description);
END;

CREATE TRIGGER products_fts_deleted AFTER DELETE ON products
BEGIN
    DELETE FROM products_fts WHERE rowid = OLD.id;
END;

-- Every word in the index with how many products use it (typo correction).
CREATE VIRTUAL TABLE products_fts_terms USING fts5vocab(products_fts, 'row');

CREATE INDEX products_listed_name ON products (lower(name), id) WHERE archived_at IS NULL;
CREATE INDEX products_listed_category_name ON products (category_id, lower(name), id) WHERE archived_at IS NULL;
CREATE INDEX products_listed_price ON products (price_cents, id) WHERE archived_at IS NULL;
CREATE INDEX products_listed_sold ON products (units_sold, id) WHERE archived_at IS NULL;
CREATE INDEX products_listed_category_price ON products (category_id, price_cents, id) WHERE archived_at IS NULL;
CREATE INDEX products_listed_category_sold ON products (category_id, units_sold, id) WHERE archived_at IS NULL;
