-- Accounts and orders. Orders reach the change log when their lines are complete:
-- checkout inserts the order, its lines, then sets the total (an UPDATE), and
-- only UPDATEs of orders are logged.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT NOT NULL UNIQUE COLLATE NOCASE CHECK (length(username) BETWEEN 3 AND 40),
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL DEFAULT 'customer' CHECK (role IN ('customer', 'staff')),
    street        TEXT,
    city          TEXT,
    region        TEXT,
    postal_code   TEXT,
    created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);

CREATE TABLE orders (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id     INTEGER NOT NULL REFERENCES users (id),
    status          TEXT NOT NULL DEFAULT 'placed'
                    CHECK (status IN ('placed', 'paid', 'shipped', 'delivered', 'cancelled')),
    total_cents     INTEGER NOT NULL DEFAULT 0 CHECK (total_cents >= 0),
    currency        TEXT NOT NULL DEFAULT 'USD',
    street          TEXT NOT NULL,
    city            TEXT NOT NULL,
    region          TEXT NOT NULL,
    postal_code     TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    updated_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    UNIQUE (customer_id, idempotency_key)
);
CREATE INDEX orders_customer ON orders (customer_id, id);

-- No foreign key to products: a line keeps its name and price as sold even if
-- the product is later deleted.
CREATE TABLE order_lines (
    order_id         INTEGER NOT NULL REFERENCES orders (id),
    line_no          INTEGER NOT NULL,
    product_id       INTEGER NOT NULL,
    name             TEXT NOT NULL,
    unit_price_cents INTEGER NOT NULL CHECK (unit_price_cents >= 0),
    quantity         INTEGER NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (order_id, line_no)
);

-- The JSON of app::model::OrderSummary and app::model::Order.
CREATE VIEW order_json AS
SELECT o.id AS id,
       o.customer_id AS customer_id,
       json_object('id', o.id, 'status', o.status,
                   'total', json_object('minor', o.total_cents, 'currency', o.currency),
                   'items', (SELECT coalesce(sum(quantity), 0) FROM order_lines WHERE order_id = o.id),
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
                   'created_at', o.created_at, 'updated_at', o.updated_at) AS full
FROM orders o;

CREATE TRIGGER orders_updated AFTER UPDATE ON orders
BEGIN
    INSERT INTO change_log (topic, op, entity_id, payload)
        SELECT 'orders:' || customer_id, 'change', id, summary FROM order_json WHERE id = NEW.id;
    INSERT INTO change_log (topic, op, entity_id, payload)
        SELECT 'order:' || id, 'change', id, full FROM order_json WHERE id = NEW.id;
END;
