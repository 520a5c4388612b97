-- A daily sync that keeps the shop's product list current with the ERP.
-- Shows: mode "upsert" (new rows inserted; existing rows get the mapped columns
-- updated, every other column is kept), `where` on a change timestamp,
-- `default` with `sql "NOW()"` and `null`, and reading the counts.
-- Columns the shop manages itself (promo_price, listed_at) are not mapped, so the
-- sync never overwrites them; they get their defaults only when a product is new.
--
--   ferry run scripts/upsert_daily.lua --source URL --target URL [--var days=7]
source "mysql://erp_reader@erp.example.com:3306/erp"
target "mysql://shop@shop-db.example.com:3306/shop"

local days = tonumber(vars.days or "1")
assert(days, "--var days=N: N must be a number")

local s = copy {
  from = "items", to = "products",
  mode = "upsert",
  where = ("updated_at >= NOW() - INTERVAL %d DAY"):format(days),
  map = map { sku = "item_no" },     -- name, price, stock: same names
  default = default {
    listed_at = sql "NOW()",         -- when the shop first got the product
    promo_price = null,              -- not the server's DEFAULT 0.00: no promotion yet
  },
}
log.info("products: %d changed in the last %d day(s): %d new, %d updated, %d unchanged",
         s.read, days, s.inserted, s.updated, s.unchanged)
