-- Order conversations (issue #15): every order has one, between its customer
-- and the shop's staff. Each message is a fact of kind 'message' (its order in
-- parent_id). The order keeps what its lists show: how many messages, how many
-- each side has not read, and when the last was written. Those counters move
-- with each message (triggers), so they are order changes: the customer's
-- `orders:{id}` and the staff inbox hear them like any other order change.

ALTER TABLE orders ADD COLUMN messages INTEGER NOT NULL DEFAULT 0 CHECK (messages >= 0);
ALTER TABLE orders ADD COLUMN unread_by_customer INTEGER NOT NULL DEFAULT 0 CHECK (unread_by_customer >= 0);
ALTER TABLE orders ADD COLUMN unread_by_staff INTEGER NOT NULL DEFAULT 0 CHECK (unread_by_staff >= 0);
ALTER TABLE orders ADD COLUMN last_message_at TEXT;

CREATE TABLE order_messages (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id   INTEGER NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    -- NULL once the account is deleted: the message stays.
    author_id  INTEGER REFERENCES users (id) ON DELETE SET NULL,
    from_staff INTEGER NOT NULL CHECK (from_staff IN (0, 1)),
    body       TEXT NOT NULL CHECK (length(body) BETWEEN 1 AND 2000),
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    -- When the other side read it.
    read_at    TEXT
);
CREATE INDEX order_messages_order ON order_messages (order_id, id);
CREATE INDEX orders_conversations ON orders (last_message_at) WHERE last_message_at IS NOT NULL;

CREATE TRIGGER order_messages_inserted AFTER INSERT ON order_messages
BEGIN
    INSERT INTO change_log (kind, op, entity_id, parent_id) VALUES ('message', 'change', NEW.id, NEW.order_id);
    UPDATE orders SET messages = messages + 1,
                      unread_by_staff = unread_by_staff + (NOT NEW.from_staff AND NEW.read_at IS NULL),
                      unread_by_customer = unread_by_customer + (NEW.from_staff AND NEW.read_at IS NULL),
                      last_message_at = max(coalesce(last_message_at, ''), NEW.created_at)
        WHERE id = NEW.order_id;
END;

CREATE TRIGGER order_messages_updated AFTER UPDATE ON order_messages
BEGIN
    INSERT INTO change_log (kind, op, entity_id, parent_id)
        SELECT 'message', 'removed', OLD.id, OLD.order_id WHERE OLD.id <> NEW.id OR OLD.order_id <> NEW.order_id;
    INSERT INTO change_log (kind, op, entity_id, parent_id) VALUES ('message', 'change', NEW.id, NEW.order_id);
    -- Moved to another order (an outside writer): it counts there now.
    UPDATE orders SET messages = messages - 1,
                      unread_by_staff = unread_by_staff - (NOT OLD.from_staff AND OLD.read_at IS NULL),
                      unread_by_customer = unread_by_customer - (OLD.from_staff AND OLD.read_at IS NULL)
        WHERE id = OLD.order_id AND OLD.order_id <> NEW.order_id;
    UPDATE orders SET messages = messages + 1,
                      unread_by_staff = unread_by_staff + (NOT NEW.from_staff AND NEW.read_at IS NULL),
                      unread_by_customer = unread_by_customer + (NEW.from_staff AND NEW.read_at IS NULL),
                      last_message_at = max(coalesce(last_message_at, ''), NEW.created_at)
        WHERE id = NEW.order_id AND OLD.order_id <> NEW.order_id;
    -- Read (the common update): only the unread counts move, and only then.
    UPDATE orders SET unread_by_staff = unread_by_staff + (NOT NEW.from_staff AND NEW.read_at IS NULL)
                                                        - (NOT OLD.from_staff AND OLD.read_at IS NULL),
                      unread_by_customer = unread_by_customer + (NEW.from_staff AND NEW.read_at IS NULL)
                                                              - (OLD.from_staff AND OLD.read_at IS NULL)
        WHERE id = NEW.order_id AND OLD.order_id = NEW.order_id
          AND ((OLD.read_at IS NULL) <> (NEW.read_at IS NULL) OR OLD.from_staff <> NEW.from_staff);
END;

CREATE TRIGGER order_messages_deleted AFTER DELETE ON order_messages
BEGIN
    INSERT INTO change_log (kind, op, entity_id, parent_id) VALUES ('message', 'removed', OLD.id, OLD.order_id);
    UPDATE orders SET messages = messages - 1,
                      unread_by_staff = unread_by_staff - (NOT OLD.from_staff AND OLD.read_at IS NULL),
                      unread_by_customer = unread_by_customer - (OLD.from_staff AND OLD.read_at IS NULL)
        WHERE id = OLD.order_id;
END;
