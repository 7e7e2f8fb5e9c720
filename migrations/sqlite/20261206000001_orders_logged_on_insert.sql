-- Checkout on SQLite inserts each order with its total (a group's orders in
-- one statement) instead of completing it with an UPDATE: the insert is what
-- is logged, as on PostgreSQL (whose 20261205000001 migration predates this
-- one). The checkout inserts the lines in the same transaction, so the feed,
-- which reads the order when it makes the frame, sees them; an outside
-- writer that inserts an order and its lines in separate transactions
-- publishes it twice, first without lines, as on PostgreSQL.
CREATE TRIGGER orders_inserted AFTER INSERT ON orders
BEGIN
    INSERT INTO change_log (kind, op, entity_id, parent_id) VALUES ('order', 'change', NEW.id, NEW.customer_id);
END;
