-- A masked subset of a production shop for a test environment: the orders of the last
-- N days (at most `limit` of them), their order items, and exactly the customers and
-- products they reference (referrers of referrers too), with names, e-mail addresses
-- and phone numbers masked on the way. The subset is referentially complete: every
-- foreign key between its tables resolves on the target.
-- Shows: sample{} (where, limit, children, create), a table's own options (mask),
-- job{mask_salt} from the environment, vars with fallbacks, the counts per table.
-- --dry-run lists every table of the subset with its row count; --resume after a kill
-- copies the very rows the first run chose, though NOW() has moved on.
--
--   MASK_SALT=... ferry run scripts/test_env_sample.lua --source URL --target URL \
--       [--var days=30] [--var limit=10000] [--dry-run]
source "mysql://reader@prod-replica.example.com:3306/shop"
target "mysql://root@test-db.example.com:3306/shop_test"

job { mask_salt = env("MASK_SALT") }

local days = math.tointeger(tonumber(vars.days or "30"))
local limit = math.tointeger(tonumber(vars.limit or "10000"))
assert(days and days >= 1, "--var days=N: N must be a whole number >= 1")
assert(limit and limit >= 1, "--var limit=N: N must be a whole number >= 1")

local s = sample {
  from = "orders",
  where = ("ordered_at > NOW() - INTERVAL %d DAY"):format(days),
  limit = limit,
  children = { "order_items" },
  create = true,
  tables = {
    customers = { mask = { name = "name", email = "email", phone = "keep_last:2" } },
  },
}
if not planning then
  for name, t in pairs(s.tables) do
    log.info("%s: %d rows", name, t.written)
  end
  log.info("test subset of the last %d days: %d rows", days, s.written)
end
