-- The demo pictures were one drawing per category (headphones showed a monitor).
-- A product without a photo now shows a picture drawn for it from its name
-- (/images/placeholder/{id}.svg); the demo files are gone, so their paths go
-- too (and only theirs: an operator's own files stay).
UPDATE products SET image = '' WHERE image IN (
    '/images/products/4k-monitor-27.svg',
    '/images/products/action-camera.svg',
    '/images/products/bamboo-cutting-board.svg',
    '/images/products/cast-iron-skillet.svg',
    '/images/products/ceramic-mug-set.svg',
    '/images/products/chamomile-blend.svg',
    '/images/products/chef-s-knife.svg',
    '/images/products/dark-chocolate-bar.svg',
    '/images/products/earl-grey-tea.svg',
    '/images/products/espresso-beans.svg',
    '/images/products/fitness-tracker.svg',
    '/images/products/gummy-bears.svg',
    '/images/products/hand-grinder.svg',
    '/images/products/hazelnut-pralines.svg',
    '/images/products/licorice-twists.svg',
    '/images/products/linen-tea-towels.svg',
    '/images/products/macaron-box.svg',
    '/images/products/matcha-powder.svg',
    '/images/products/mechanical-keyboard.svg',
    '/images/products/peppermint-drops.svg',
    '/images/products/portable-charger.svg',
    '/images/products/pour-over-kettle.svg',
    '/images/products/salted-caramels.svg',
    '/images/products/scented-candle.svg',
    '/images/products/single-origin-ethiopia.svg',
    '/images/products/smart-speaker.svg',
    '/images/products/wireless-headphones.svg'
);
