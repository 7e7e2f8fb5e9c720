-- Checkout on PostgreSQL is one statement that takes the stock, inserts the
-- order with its total and inserts its lines (so a hot product's row lock is
-- held for one statement): the order is complete when inserted, and its
-- insert is what is logged. (SQLite's checkout completes an order with an
-- UPDATE of its total, which its orders_updated trigger logs.)
CREATE FUNCTION orders_inserted() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM log_fact('order', 'change', NEW.id, NEW.customer_id);
    RETURN NEW;
END $$;

CREATE TRIGGER orders_inserted AFTER INSERT ON orders
    FOR EACH ROW EXECUTE FUNCTION orders_inserted();
