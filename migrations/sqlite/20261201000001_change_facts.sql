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
-- snapshot, as it would after any pruning.

DROP TRIGGER products_inserted;
DROP TRIGGER products_updated;
DROP TRIGGER products_deleted;
DROP TRIGGER orders_updated;
DROP VIEW product_json;
DROP VIEW order_json;

UPDATE feed_state SET pruned_through = max(pruned_through,
    coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'change_log'), 0),
    coalesce((SELECT max(seq) FROM change_log), 0)) WHERE id = 1;

CREATE TABLE change_facts (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    kind       TEXT NOT NULL CHECK (kind IN ('product', 'order', 'signout')),
    op         TEXT NOT NULL CHECK (op IN ('change', 'removed')),
    entity_id  INTEGER NOT NULL,
    parent_id  INTEGER,
    created_at INTEGER NOT NULL DEFAULT (unixepoch())
);
INSERT INTO sqlite_sequence (name, seq) SELECT 'change_facts', pruned_through FROM feed_state WHERE id = 1;
DROP TABLE change_log;
ALTER TABLE change_facts RENAME TO change_log;
CREATE INDEX change_log_entity ON change_log (kind, entity_id, seq);
CREATE INDEX change_log_parent ON change_log (kind, parent_id, seq);
CREATE INDEX change_log_created ON change_log (created_at);

-- Products. Every UPDATE logs (whatever columns it touched, so a column added
-- later is covered without touching the trigger).
CREATE TRIGGER products_inserted AFTER INSERT ON products
BEGIN
    INSERT INTO change_log (kind, op, entity_id, parent_id) VALUES ('product', 'change', NEW.id, NULL);
END;

CREATE TRIGGER products_updated AFTER UPDATE ON products
BEGIN
    -- A new id (an outside writer's renumbering): the old one is gone.
    INSERT INTO change_log (kind, op, entity_id, parent_id)
        SELECT 'product', 'removed', OLD.id, CASE WHEN OLD.archived_at IS NULL THEN OLD.category_id END
        WHERE OLD.id <> NEW.id;
    INSERT INTO change_log (kind, op, entity_id, parent_id)
        VALUES ('product', 'change', NEW.id, CASE WHEN OLD.archived_at IS NULL AND OLD.id = NEW.id THEN OLD.category_id END);
END;

CREATE TRIGGER products_deleted AFTER DELETE ON products
BEGIN
    INSERT INTO change_log (kind, op, entity_id, parent_id)
        VALUES ('product', 'removed', OLD.id, CASE WHEN OLD.archived_at IS NULL THEN OLD.category_id END);
END;

-- Orders reach the log when they are complete: checkout inserts the order and
-- its lines, then sets the total (an UPDATE); inserts are not logged.
CREATE TRIGGER orders_updated AFTER UPDATE ON orders
BEGIN
    INSERT INTO change_log (kind, op, entity_id, parent_id)
        SELECT 'order', 'removed', OLD.id, OLD.customer_id WHERE OLD.id <> NEW.id;
    INSERT INTO change_log (kind, op, entity_id, parent_id) VALUES ('order', 'change', NEW.id, OLD.customer_id);
END;

CREATE TRIGGER orders_deleted AFTER DELETE ON orders
BEGIN
    INSERT INTO change_log (kind, op, entity_id, parent_id) VALUES ('order', 'removed', OLD.id, OLD.customer_id);
END;
