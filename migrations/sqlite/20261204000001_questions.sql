-- Product questions and answers (issue #15): shoppers ask, anyone signed in
-- upvotes once, staff answer. Each question is a fact of kind 'question' (its
-- product in parent_id); the frames are made in Rust like every other fact.

-- How a shopper is shown next to their questions (NULL: their username), and
-- whether staff hid it ("A shopper").
ALTER TABLE users ADD COLUMN display_name TEXT CHECK (display_name IS NULL OR length(display_name) BETWEEN 1 AND 40);
ALTER TABLE users ADD COLUMN name_hidden INTEGER NOT NULL DEFAULT 0 CHECK (name_hidden IN (0, 1));

-- What a catalog card shows ("12 questions, 9 answered"), kept by the
-- triggers below so a card never counts rows. Changing them is a product
-- change: the card and product topics hear it.
ALTER TABLE products ADD COLUMN questions INTEGER NOT NULL DEFAULT 0 CHECK (questions >= 0);
ALTER TABLE products ADD COLUMN answered INTEGER NOT NULL DEFAULT 0 CHECK (answered >= 0);

CREATE TABLE questions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    product_id  INTEGER NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    -- NULL once the account is deleted: the question stays, "A former shopper".
    author_id   INTEGER REFERENCES users (id) ON DELETE SET NULL,
    body        TEXT NOT NULL CHECK (length(body) BETWEEN 1 AND 500),
    -- Kept by the question_votes triggers.
    votes       INTEGER NOT NULL DEFAULT 0 CHECK (votes >= 0),
    answer      TEXT CHECK (answer IS NULL OR length(answer) BETWEEN 1 AND 2000),
    answered_at TEXT,
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX questions_product ON questions (product_id, votes DESC, id);
CREATE INDEX questions_author ON questions (author_id);
CREATE INDEX questions_unanswered ON questions ((answer IS NOT NULL), id);

CREATE TABLE question_votes (
    question_id INTEGER NOT NULL REFERENCES questions (id) ON DELETE CASCADE,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (question_id, user_id)
) WITHOUT ROWID;
CREATE INDEX question_votes_user ON question_votes (user_id);

-- The log no longer lists the kinds it may hold (a build skips kinds it does
-- not know, saying so), so a feature adding one needs no table rebuild. This
-- is that rebuild, once: SQLite cannot drop a CHECK in place. The triggers
-- that write the log are dropped and made again around it, and the seq keeps
-- counting from where it was.
DROP TRIGGER products_inserted;
DROP TRIGGER products_updated;
DROP TRIGGER products_deleted;
DROP TRIGGER orders_updated;
DROP TRIGGER orders_deleted;

CREATE TABLE change_log_v3 (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    kind       TEXT NOT NULL CHECK (length(kind) BETWEEN 1 AND 20),
    op         TEXT NOT NULL CHECK (op IN ('change', 'removed')),
    entity_id  INTEGER NOT NULL,
    parent_id  INTEGER,
    created_at INTEGER NOT NULL DEFAULT (unixepoch())
);
INSERT INTO change_log_v3 (seq, kind, op, entity_id, parent_id, created_at)
    SELECT seq, kind, op, entity_id, parent_id, created_at FROM change_log;
DELETE FROM sqlite_sequence WHERE name = 'change_log_v3';
INSERT INTO sqlite_sequence (name, seq) SELECT 'change_log_v3', max(
    coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'change_log'), 0),
    coalesce((SELECT max(seq) FROM change_log), 0),
    (SELECT pruned_through FROM feed_state WHERE id = 1));
DROP TABLE change_log;
ALTER TABLE change_log_v3 RENAME TO change_log;
CREATE INDEX change_log_entity ON change_log (kind, entity_id, seq);
CREATE INDEX change_log_parent ON change_log (kind, parent_id, seq);
CREATE INDEX change_log_created ON change_log (created_at);

CREATE TRIGGER products_inserted AFTER INSERT ON products
BEGIN
    INSERT INTO change_log (kind, op, entity_id, parent_id) VALUES ('product', 'change', NEW.id, NULL);
END;

CREATE TRIGGER products_updated AFTER UPDATE ON products
BEGIN
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

-- Questions: a fact per change (parent_id: the product it was asked about
-- before the change), and the product's counts when they move.
CREATE TRIGGER questions_inserted AFTER INSERT ON questions
BEGIN
    INSERT INTO change_log (kind, op, entity_id, parent_id) VALUES ('question', 'change', NEW.id, NEW.product_id);
    UPDATE products SET questions = questions + 1, answered = answered + (NEW.answer IS NOT NULL) WHERE id = NEW.product_id;
END;

CREATE TRIGGER questions_updated AFTER UPDATE ON questions
BEGIN
    INSERT INTO change_log (kind, op, entity_id, parent_id)
        SELECT 'question', 'removed', OLD.id, OLD.product_id WHERE OLD.id <> NEW.id;
    INSERT INTO change_log (kind, op, entity_id, parent_id) VALUES ('question', 'change', NEW.id, OLD.product_id);
    UPDATE products SET questions = questions - 1, answered = answered - (OLD.answer IS NOT NULL)
        WHERE id = OLD.product_id AND OLD.product_id <> NEW.product_id;
    UPDATE products SET questions = questions + 1, answered = answered + (NEW.answer IS NOT NULL)
        WHERE id = NEW.product_id AND OLD.product_id <> NEW.product_id;
    UPDATE products SET answered = answered + (NEW.answer IS NOT NULL) - (OLD.answer IS NOT NULL)
        WHERE id = NEW.product_id AND OLD.product_id = NEW.product_id AND (OLD.answer IS NULL) <> (NEW.answer IS NULL);
END;

CREATE TRIGGER questions_deleted AFTER DELETE ON questions
BEGIN
    INSERT INTO change_log (kind, op, entity_id, parent_id) VALUES ('question', 'removed', OLD.id, OLD.product_id);
    UPDATE products SET questions = questions - 1, answered = answered - (OLD.answer IS NOT NULL) WHERE id = OLD.product_id;
END;

CREATE TRIGGER question_votes_inserted AFTER INSERT ON question_votes
BEGIN
    UPDATE questions SET votes = votes + 1 WHERE id = NEW.question_id;
END;

CREATE TRIGGER question_votes_deleted AFTER DELETE ON question_votes
BEGIN
    UPDATE questions SET votes = votes - 1 WHERE id = OLD.question_id;
END;

-- A name shown next to questions changed: each of that author's questions is
-- a change (what the page shows of it is different).
CREATE TRIGGER users_named AFTER UPDATE OF username, display_name, name_hidden ON users
WHEN OLD.username <> NEW.username OR OLD.display_name IS NOT NEW.display_name OR OLD.name_hidden <> NEW.name_hidden
BEGIN
    INSERT INTO change_log (kind, op, entity_id, parent_id)
        SELECT 'question', 'change', id, product_id FROM questions WHERE author_id = NEW.id;
END;
