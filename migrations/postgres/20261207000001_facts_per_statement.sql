-- Checkout writes a whole group of orders in one statement
-- (app/src/server/db/checkout.rs): 25 orders and as many products' stock at
-- a time. Their facts are now logged once per statement, from its
-- transition tables: one trigger call, one INSERT and one NOTIFY for the
-- statement, where a trigger per row made a PL/pgSQL call, an INSERT and a
-- NOTIFY for every row (measured: ~50 µs an order, ~55 µs a product, half
-- of a group's writes). The rows logged are the same as before, one per
-- order inserted and one per product changed, and so is the rule the feed
-- relies on: the transaction takes its xid before its seqs.

DROP TRIGGER orders_inserted ON orders;
DROP FUNCTION orders_inserted();

CREATE FUNCTION orders_inserted() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM inserted) THEN
        RETURN NULL;  -- a checkout that placed nothing
    END IF;
    PERFORM pg_current_xact_id();
    INSERT INTO change_log (seq, kind, op, entity_id, parent_id)
        SELECT nextval('change_log_seq'), 'order', 'change', id, customer_id
        FROM (SELECT id, customer_id FROM inserted ORDER BY id) AS o;
    PERFORM pg_notify('livecart_changes', '');
    RETURN NULL;
END $$;

CREATE TRIGGER orders_inserted AFTER INSERT ON orders
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION orders_inserted();

-- A product that changed: its fact says the category it was listed in before
-- (NULL when it was not listed). Rows are paired by id; a row whose id
-- changed is logged by products_renumbered, per row, as before.
DROP TRIGGER products_updated ON products;

CREATE FUNCTION products_updated() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM after_rows) THEN
        RETURN NULL;
    END IF;
    PERFORM pg_current_xact_id();
    INSERT INTO change_log (seq, kind, op, entity_id, parent_id)
        SELECT nextval('change_log_seq'), 'product', 'change', id, parent_id
        FROM (SELECT a.id, CASE WHEN b.archived_at IS NULL THEN b.category_id END AS parent_id
              FROM after_rows AS a JOIN before_rows AS b ON b.id = a.id
              WHERE b IS DISTINCT FROM a
              ORDER BY a.id) AS p;
    IF FOUND THEN
        PERFORM pg_notify('livecart_changes', '');
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER products_updated AFTER UPDATE ON products
    REFERENCING OLD TABLE AS before_rows NEW TABLE AS after_rows
    FOR EACH STATEMENT EXECUTE FUNCTION products_updated();
CREATE TRIGGER products_renumbered AFTER UPDATE ON products
    FOR EACH ROW WHEN (OLD.id <> NEW.id) EXECUTE FUNCTION products_changed();
