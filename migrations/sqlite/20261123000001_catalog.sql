-- The catalog and the change log that feeds every live view.
-- Triggers write change_log in the same transaction as the change itself.

CREATE TABLE categories (
    id          INTEGER PRIMARY KEY,
    slug        TEXT NOT NULL UNIQUE CHECK (length(slug) BETWEEN 1 AND 40),
    name        TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 80),
    position    INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE products (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    category_id INTEGER NOT NULL REFERENCES categories (id),
    name        TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description TEXT NOT NULL DEFAULT '' CHECK (length(description) <= 5000),
    price_cents INTEGER NOT NULL CHECK (price_cents >= 0),
    currency    TEXT NOT NULL DEFAULT 'USD' CHECK (currency IN ('USD', 'EUR')),
    stock       INTEGER NOT NULL CHECK (stock >= 0),
    units_sold  INTEGER NOT NULL DEFAULT 0 CHECK (units_sold >= 0),
    image       TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX products_category ON products (category_id);

-- seq order is commit order: SQLite has one writer at a time.
CREATE TABLE change_log (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    topic      TEXT NOT NULL,
    op         TEXT NOT NULL CHECK (op IN ('change', 'removed')),
    entity_id  INTEGER NOT NULL,
    payload    TEXT,
    created_at INTEGER NOT NULL DEFAULT (unixepoch())
);
CREATE INDEX change_log_topic_seq ON change_log (topic, seq);
CREATE INDEX change_log_created ON change_log (created_at);

-- Everything at or below pruned_through may be gone from change_log.
CREATE TABLE feed_state (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    pruned_through INTEGER NOT NULL DEFAULT 0
);
INSERT INTO feed_state (id, pruned_through) VALUES (1, 0);

-- The JSON of app::model::ProductSummary and app::model::Product, defined once
-- for the triggers and the snapshots alike.
CREATE VIEW product_json AS
SELECT p.id AS id,
       p.category_id AS category_id,
       c.slug AS category_slug,
       p.name AS name,
       json_object('id', p.id, 'name', p.name, 'category', c.slug,
                   'price', json_object('minor', p.price_cents, 'currency', p.currency),
                   'stock', p.stock, 'units_sold', p.units_sold, 'image', p.image) AS summary,
       json_object('id', p.id, 'name', p.name, 'category', c.slug,
                   'price', json_object('minor', p.price_cents, 'currency', p.currency),
                   'stock', p.stock, 'units_sold', p.units_sold, 'image', p.image,
                   'description', p.description) AS full
FROM products p JOIN categories c ON c.id = p.category_id;

CREATE TRIGGER products_inserted AFTER INSERT ON products
BEGIN
    INSERT INTO change_log (topic, op, entity_id, payload)
        SELECT 'catalog', 'change', id, summary FROM product_json WHERE id = NEW.id;
    INSERT INTO change_log (topic, op, entity_id, payload)
        SELECT 'category:' || category_slug, 'change', id, summary FROM product_json WHERE id = NEW.id;
    INSERT INTO change_log (topic, op, entity_id, payload)
        SELECT 'product:' || id, 'change', id, full FROM product_json WHERE id = NEW.id;
END;

CREATE TRIGGER products_updated AFTER UPDATE ON products
BEGIN
    INSERT INTO change_log (topic, op, entity_id, payload)
        SELECT 'category:' || c.slug, 'removed', OLD.id, NULL
        FROM categories c WHERE c.id = OLD.category_id AND OLD.category_id <> NEW.category_id;
    INSERT INTO change_log (topic, op, entity_id, payload)
        SELECT 'catalog', 'change', id, summary FROM product_json WHERE id = NEW.id;
    INSERT INTO change_log (topic, op, entity_id, payload)
        SELECT 'category:' || category_slug, 'change', id, summary FROM product_json WHERE id = NEW.id;
    INSERT INTO change_log (topic, op, entity_id, payload)
        SELECT 'product:' || id, 'change', id, full FROM product_json WHERE id = NEW.id;
END;

CREATE TRIGGER products_deleted AFTER DELETE ON products
BEGIN
    INSERT INTO change_log (topic, op, entity_id, payload) VALUES ('catalog', 'removed', OLD.id, NULL);
    INSERT INTO change_log (topic, op, entity_id, payload)
        SELECT 'category:' || c.slug, 'removed', OLD.id, NULL FROM categories c WHERE c.id = OLD.category_id;
    INSERT INTO change_log (topic, op, entity_id, payload) VALUES ('product:' || OLD.id, 'removed', OLD.id, NULL);
END;
