-- Checkout on SQLite inserts each order with its total (a group's orders in
-- one statement) instead of completing it with an UPDATE: the insert is what
-- is logged, as on PostgreSQL. The lines are inserted in the same transaction,
-- so the feed, which reads the order when it makes the frame, sees them.
CREATE TRIGGER orders_inserted AFTER INSERT ON orders
BEGIN
    INSERT INTO change_log (kind, op, entity_id, parent_id) VALUES ('order', 'change', NEW.id, NEW.customer_id);
END;
