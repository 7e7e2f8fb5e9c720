-- Checkout asks whom to deliver to and in which country. Orders placed before
-- keep empty values (shown as they were); a saved address without them asks
-- for them at the next checkout.
ALTER TABLE orders ADD COLUMN recipient TEXT NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN country TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN recipient TEXT;
ALTER TABLE users ADD COLUMN country TEXT;
