-- The demo pictures were one drawing per category (headphones showed a monitor).
-- A product without a photo now shows a picture drawn for it from its name
-- (/images/placeholder/{id}.svg); the old files are gone, so their paths go too.
UPDATE products SET image = '' WHERE image LIKE '/images/products/%';
