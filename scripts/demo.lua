-- The demo job: a "legacy shop" (customers, orders) moves into a new schema
-- (clients, orders). `ferry demo` runs it against its own throwaway servers;
-- against yours: ferry run scripts/demo.lua --source URL --target URL
source "mysql://root@127.0.0.1/legacy"
target "mysql://root@127.0.0.1/shop"

local text = require "ferry.text"

-- Customers become clients: renamed columns, cleaned e-mails, defaults for the
-- new columns, and test accounts left behind.
local clients = copy {
  from = "customers", to = "clients",
  mode = "insert",
  page = 1000,
  map = map {
    client_id = "id",
    full_name = "name",
    email = function(r) return text.lower(text.trim(r.email)) end,
  },
  default = default { status = "active", migrated_at = sql "NOW()" },
  transform = function(row)
    if row.is_test == 1 then return nil end
    return row
  end,
}
log.info("clients: %d read, %d written, %d test accounts skipped",
         clients.read, clients.written, clients.skipped)

-- Orders keep their shape (the target adds a generated column, never written);
-- overwrite, so running the job again refreshes them. Cancelled orders stay behind.
local orders = copy {
  from = "orders",
  mode = "overwrite",
  page = 2000,
  where = "status <> 'cancelled'",
}
log.info("orders: %d written", orders.written)
