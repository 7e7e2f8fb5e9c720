-- The change log records facts; Rust makes the frames (src/realtime/mapper.rs).
--
-- A row says which entity changed (kind, entity_id), whether it went away (op),
-- and what a topic needs that the row may no longer have (parent_id): for a
-- product, the category it was listed in before the change (NULL when it was
-- not listed: new, or archived); for an order, its customer before the change.
-- The wire JSON and the topic names are then defined once, in Rust.
--
-- The old log's rows (topics and JSON) are not converted: the log restarts at
-- a boundary. Seqs keep counting from where they were; everything up to the
-- boundary counts as pruned, so a client resuming from before it gets a fresh
-- snapshot, as it would after any pruning. Stop every instance before
-- upgrading: an old instance cannot read the new rows.

DROP TRIGGER products_inserted_or_deleted ON products;
DROP TRIGGER products_updated ON products;
DROP TRIGGER orders_updated ON orders;
DROP FUNCTION products_changed();
DROP FUNCTION orders_changed();
DROP FUNCTION log_change(TEXT, TEXT, BIGINT, JSON);
DROP VIEW product_json;
DROP VIEW order_json;

UPDATE feed_state SET pruned_through = greatest(pruned_through,
    (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM change_log_seq),
    coalesce((SELECT max(seq) FROM change_log), 0)) WHERE id = 1;
DELETE FROM change_log;
DROP INDEX change_log_topic_seq;
ALTER TABLE change_log
    DROP COLUMN topic,
    DROP COLUMN payload,
    ADD COLUMN kind TEXT NOT NULL CHECK (kind IN ('product', 'order', 'signout')),
    ADD COLUMN parent_id BIGINT;
CREATE INDEX change_log_entity ON change_log (kind, entity_id, seq);
CREATE INDEX change_log_parent ON change_log (kind, parent_id, seq);

-- The xid first, then the seq: the feed's gap rule needs it (see
-- src/realtime/feed.rs). The NOTIFY is a wake-up only; the log is the truth.
CREATE FUNCTION log_fact(p_kind TEXT, p_op TEXT, p_entity BIGINT, p_parent BIGINT) RETURNS VOID
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_current_xact_id();
    INSERT INTO change_log (seq, kind, op, entity_id, parent_id)
        VALUES (nextval('change_log_seq'), p_kind, p_op, p_entity, p_parent);
    PERFORM pg_notify('livecart_changes', '');
END $$;

CREATE FUNCTION products_changed() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM log_fact('product', 'change', NEW.id, NULL);
        RETURN NEW;
    END IF;
    IF TG_OP = 'DELETE' OR OLD.id <> NEW.id THEN
        PERFORM log_fact('product', 'removed', OLD.id, CASE WHEN OLD.archived_at IS NULL THEN OLD.category_id END);
        IF TG_OP = 'DELETE' THEN
            RETURN OLD;
        END IF;
        PERFORM log_fact('product', 'change', NEW.id, NULL);
        RETURN NEW;
    END IF;
    PERFORM log_fact('product', 'change', NEW.id, CASE WHEN OLD.archived_at IS NULL THEN OLD.category_id END);
    RETURN NEW;
END $$;

CREATE TRIGGER products_inserted_or_deleted AFTER INSERT OR DELETE ON products
    FOR EACH ROW EXECUTE FUNCTION products_changed();
CREATE TRIGGER products_updated AFTER UPDATE ON products
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION products_changed();

-- Orders reach the log when they are complete: checkout inserts the order and
-- its lines, then sets the total (an UPDATE); inserts are not logged.
CREATE FUNCTION orders_changed() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR OLD.id <> NEW.id THEN
        PERFORM log_fact('order', 'removed', OLD.id, OLD.customer_id);
        IF TG_OP = 'DELETE' THEN
            RETURN OLD;
        END IF;
    END IF;
    PERFORM log_fact('order', 'change', NEW.id, OLD.customer_id);
    RETURN NEW;
END $$;

CREATE TRIGGER orders_updated AFTER UPDATE ON orders
    FOR EACH ROW EXECUTE FUNCTION orders_changed();
CREATE TRIGGER orders_deleted AFTER DELETE ON orders
    FOR EACH ROW EXECUTE FUNCTION orders_changed();
