-- Seller Coverage (example): one row per seller, computed in the database.
-- Portable SQL (SQLite and PostgreSQL). Bind parameters: :as_of, :window_start,
-- :window_end, :window_end_exclusive and the template's params.
-- Column names are the template's `source`s (the header in snake_case unless
-- the column says otherwise).
SELECT
    s.seller_id,
    s.name AS seller_name,
    COALESCE(g.listings, 0) AS listings,
    COALESCE(g.offline_listings, 0) AS offline_listings,
    COALESCE(g.markets, 0) AS markets,
    COALESCE(g.products, 0) AS products,
    CASE WHEN COALESCE(g.listings, 0) = 0 THEN NULL
         ELSE 1.0 * g.offline_listings / g.listings END AS offline_share,
    COALESCE(o.orders_in_window, 0) AS orders_in_window,
    NULL AS owner
FROM sellers AS s
LEFT JOIN (
    SELECT seller_id,
           COUNT(*) AS listings,
           SUM(CASE WHEN price = 0 THEN 1 ELSE 0 END) AS offline_listings,
           COUNT(DISTINCT country) AS markets,
           COUNT(DISTINCT product_id) AS products
    FROM price_grid
    GROUP BY seller_id
) AS g ON g.seller_id = s.seller_id
LEFT JOIN (
    SELECT seller_id, COUNT(*) AS orders_in_window
    FROM tradein_orders
    WHERE created_at >= :window_start
    GROUP BY seller_id
) AS o ON o.seller_id = s.seller_id
ORDER BY s.seller_id
