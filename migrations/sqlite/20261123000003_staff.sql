-- Staff work: archiving products, the order lifecycle with its timeline, the
-- all-orders topic for staff, API tokens for other systems, uploaded images.

-- An archived product leaves the catalog (live: 'removed' on its topics) and cannot
-- be bought; order lines keep their own copy of its name and price.
ALTER TABLE products ADD COLUMN archived_at TEXT;

DROP VIEW product_json;
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
FROM products p JOIN categories c ON c.id = p.category_id
WHERE p.archived_at IS NULL;

DROP TRIGGER products_updated;
CREATE TRIGGER products_updated AFTER UPDATE ON products
BEGIN
    -- Gone from its old category's list: moved, or archived.
    INSERT INTO change_log (topic, op, entity_id, payload)
        SELECT 'category:' || c.slug, 'removed', OLD.id, NULL
        FROM categories c
        WHERE c.id = OLD.category_id AND OLD.archived_at IS NULL
          AND (OLD.category_id <> NEW.category_id OR NEW.archived_at IS NOT NULL);
    INSERT INTO change_log (topic, op, entity_id, payload)
        SELECT 'catalog', 'removed', OLD.id, NULL WHERE OLD.archived_at IS NULL AND NEW.archived_at IS NOT NULL;
    INSERT INTO change_log (topic, op, entity_id, payload)
        SELECT 'product:' || OLD.id, 'removed', OLD.id, NULL WHERE OLD.archived_at IS NULL AND NEW.archived_at IS NOT NULL;
    -- Visible (product_json holds no archived product): its new state.
    INSERT INTO change_log (topic, op, entity_id, payload)
        SELECT 'catalog', 'change', id, summary FROM product_json WHERE id = NEW.id;
    INSERT INTO change_log (topic, op, entity_id, payload)
        SELECT 'category:' || category_slug, 'change', id, summary FROM product_json WHERE id = NEW.id;
    INSERT INTO change_log (topic, op, entity_id, payload)
        SELECT 'product:' || id, 'change', id, full FROM product_json WHERE id = NEW.id;
END;

-- When each step of the lifecycle happened (placed is created_at).
ALTER TABLE orders ADD COLUMN paid_at TEXT;
ALTER TABLE orders ADD COLUMN shipped_at TEXT;
ALTER TABLE orders ADD COLUMN delivered_at TEXT;
ALTER TABLE orders ADD COLUMN cancelled_at TEXT;
CREATE INDEX orders_newest ON orders (id DESC);

DROP VIEW order_json;
CREATE VIEW order_json AS
SELECT o.id AS id,
       o.customer_id AS customer_id,
       json_object('id', o.id, 'status', o.status,
                   'total', json_object('minor', o.total_cents, 'currency', o.currency),
                   'items', (SELECT coalesce(sum(quantity), 0) FROM order_lines WHERE order_id = o.id),
                   'customer', (SELECT username FROM users WHERE id = o.customer_id),
                   'created_at', o.created_at) AS summary,
       json_object('id', o.id, 'customer_id', o.customer_id, 'status', o.status,
                   'total', json_object('minor', o.total_cents, 'currency', o.currency),
                   'address', json_object('street', o.street, 'city', o.city, 'region', o.region,
                                          'postal_code', o.postal_code),
                   'lines', (SELECT coalesce(json_group_array(json_object(
                                 'product_id', l.product_id, 'name', l.name,
                                 'unit_price', json_object('minor', l.unit_price_cents, 'currency', o.currency),
                                 'quantity', l.quantity,
                                 'line_total', json_object('minor', l.unit_price_cents * l.quantity, 'currency', o.currency))), '[]')
                             FROM (SELECT * FROM order_lines WHERE order_id = o.id ORDER BY line_no) l),
                   'created_at', o.created_at, 'updated_at', o.updated_at,
                   'paid_at', o.paid_at, 'shipped_at', o.shipped_at,
                   'delivered_at', o.delivered_at, 'cancelled_at', o.cancelled_at) AS full
FROM orders o;

DROP TRIGGER orders_updated;
CREATE TRIGGER orders_updated AFTER UPDATE ON orders
BEGIN
    INSERT INTO change_log (topic, op, entity_id, payload)
        SELECT 'orders:' || customer_id, 'change', id, summary FROM order_json WHERE id = NEW.id;
    INSERT INTO change_log (topic, op, entity_id, payload)
        SELECT 'orders', 'change', id, summary FROM order_json WHERE id = NEW.id;
    INSERT INTO change_log (topic, op, entity_id, payload)
        SELECT 'order:' || id, 'change', id, full FROM order_json WHERE id = NEW.id;
END;

-- Tokens for the JSON API. Only a hash is kept; the token is shown once.
CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 80),
    token_hash   TEXT NOT NULL UNIQUE,
    scope        TEXT NOT NULL CHECK (scope IN ('read', 'write')),
    created_by   INTEGER REFERENCES users (id),
    created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    last_used_at TEXT,
    revoked_at   TEXT
);

-- Product images uploaded through the staff console, served at /media/{id}.
-- Kept in the database so every instance serves every image.
CREATE TABLE images (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    content_type TEXT NOT NULL,
    bytes        BLOB NOT NULL,
    created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
