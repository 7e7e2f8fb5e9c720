-- Staff edits carry the version they were based on; an edit of an older version
-- is refused (409) instead of silently undoing someone else's change. Stock and
-- sales do not move the version: they change only by conditional statements.
ALTER TABLE products ADD COLUMN version INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1);
