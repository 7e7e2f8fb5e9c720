-- Staff work: archiving products, the order lifecycle with its timeline, the
-- all-orders topic for staff, API tokens for other systems, uploaded images.

-- An archived product leaves the catalog (live: 'removed' on its topics) and cannot
-- be bought; order lines keep their own copy of its name and price.
ALTER TABLE products ADD COLUMN archived_at TIMESTAMPTZ;

CREATE OR REPLACE VIEW product_json AS
SELECT p.id AS id,
       p.category_id AS category_id,
       c.slug AS category_slug,
       p.name AS name,
       json_build_object('id', p.id, 'name', p.name, 'category', c.slug,
                         'price', json_build_object('minor', p.price_cents, 'currency', p.currency),
                         'stock', p.stock, 'units_sold', p.units_sold, 'image', p.image) AS summary,
       json_build_object('id', p.id, 'name', p.name, 'category', c.slug,
                         'price', json_build_object('minor', p.price_cents, 'currency', p.currency),
                         'stock', p.stock, 'units_sold', p.units_sold, 'image', p.image,
                         'description', p.description) AS "full"
FROM products p JOIN categories c ON c.id = p.category_id
WHERE p.archived_at IS NULL;

CREATE OR REPLACE FUNCTION products_changed() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
DECLARE
    v product_json%ROWTYPE;
    old_slug TEXT;
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.archived_at IS NULL THEN
            SELECT slug INTO old_slug FROM categories WHERE id = OLD.category_id;
            PERFORM log_change('catalog', 'removed', OLD.id, NULL);
            PERFORM log_change('category:' || old_slug, 'removed', OLD.id, NULL);
            PERFORM log_change('product:' || OLD.id, 'removed', OLD.id, NULL);
        END IF;
        RETURN OLD;
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.archived_at IS NULL THEN
        SELECT slug INTO old_slug FROM categories WHERE id = OLD.category_id;
        IF NEW.archived_at IS NOT NULL THEN
            PERFORM log_change('catalog', 'removed', OLD.id, NULL);
            PERFORM log_change('category:' || old_slug, 'removed', OLD.id, NULL);
            PERFORM log_change('product:' || OLD.id, 'removed', OLD.id, NULL);
            RETURN NEW;
        END IF;
        IF OLD.category_id <> NEW.category_id THEN
            PERFORM log_change('category:' || old_slug, 'removed', OLD.id, NULL);
        END IF;
    END IF;
    IF NEW.archived_at IS NOT NULL THEN
        RETURN NEW;  -- not in the catalog: nobody follows it
    END IF;
    SELECT * INTO v FROM product_json WHERE id = NEW.id;
    PERFORM log_change('catalog', 'change', NEW.id, v.summary);
    PERFORM log_change('category:' || v.category_slug, 'change', NEW.id, v.summary);
    PERFORM log_change('product:' || NEW.id, 'change', NEW.id, v."full");
    RETURN NEW;
END $$;

-- When each step of the lifecycle happened (placed is created_at).
ALTER TABLE orders ADD COLUMN paid_at TIMESTAMPTZ;
ALTER TABLE orders ADD COLUMN shipped_at TIMESTAMPTZ;
ALTER TABLE orders ADD COLUMN delivered_at TIMESTAMPTZ;
ALTER TABLE orders ADD COLUMN cancelled_at TIMESTAMPTZ;

DROP VIEW order_json;
CREATE VIEW order_json AS
SELECT o.id AS id,
       o.customer_id AS customer_id,
       json_build_object('id', o.id, 'status', o.status,
                         'total', json_build_object('minor', o.total_cents, 'currency', o.currency),
                         'items', (SELECT coalesce(sum(quantity), 0)::bigint FROM order_lines WHERE order_id = o.id),
                         'customer', (SELECT username FROM users WHERE id = o.customer_id),
                         'created_at', rfc3339(o.created_at)) AS summary,
       json_build_object('id', o.id, 'customer_id', o.customer_id, 'status', o.status,
                         'total', json_build_object('minor', o.total_cents, 'currency', o.currency),
                         'address', json_build_object('street', o.street, 'city', o.city, 'region', o.region,
                                                      'postal_code', o.postal_code),
                         'lines', (SELECT coalesce(json_agg(json_build_object(
                                       'product_id', l.product_id, 'name', l.name,
                                       'unit_price', json_build_object('minor', l.unit_price_cents, 'currency', o.currency),
                                       'quantity', l.quantity,
                                       'line_total', json_build_object('minor', l.unit_price_cents * l.quantity, 'currency', o.currency))
                                       ORDER BY l.line_no), '[]')
                                   FROM order_lines l WHERE l.order_id = o.id),
                         'created_at', rfc3339(o.created_at), 'updated_at', rfc3339(o.updated_at),
                         'paid_at', rfc3339(o.paid_at), 'shipped_at', rfc3339(o.shipped_at),
                         'delivered_at', rfc3339(o.delivered_at), 'cancelled_at', rfc3339(o.cancelled_at)) AS "full"
FROM orders o;

CREATE OR REPLACE FUNCTION orders_changed() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
DECLARE
    v order_json%ROWTYPE;
BEGIN
    SELECT * INTO v FROM order_json WHERE id = NEW.id;
    PERFORM log_change('orders:' || NEW.customer_id, 'change', NEW.id, v.summary);
    PERFORM log_change('orders', 'change', NEW.id, v.summary);
    PERFORM log_change('order:' || NEW.id, 'change', NEW.id, v."full");
    RETURN NEW;
END $$;

-- Tokens for the JSON API. Only a hash is kept; the token is shown once.
CREATE TABLE api_tokens (
    id           BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    name         TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 80),
    token_hash   TEXT NOT NULL UNIQUE,
    scope        TEXT NOT NULL CHECK (scope IN ('read', 'write')),
    created_by   BIGINT REFERENCES users (id),
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_used_at TIMESTAMPTZ,
    revoked_at   TIMESTAMPTZ
);

-- Product images uploaded through the staff console, served at /media/{id}.
-- Kept in the database so every instance serves every image.
CREATE TABLE images (
    id           BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    content_type TEXT NOT NULL,
    bytes        BYTEA NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
