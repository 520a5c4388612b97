-- Light ETL: legacy orders into a reporting schema, cleaned on the way.
-- Shows: a lookup through a target table (country codes to ids, read once), the
-- standard library (text, date, hash), a status code remapped through a Lua table, a
-- transform that returns a new row, a note emitted into a second table for an order
-- whose status code the map does not know (fan-out), an order the transform refuses
-- set aside in a rejects file while the rest is copied (`--var rejects=FILE` says
-- where; `ferry run ... --replay FILE` copies it again once fixed), a `check` that
-- fails the run when an order lost its country, and a job `after` hook that rebuilds
-- a summary table from the result.
--
--   ferry run scripts/etl_orders.lua --source URL --target URL [--var rejects=FILE]
source "mysql://etl@legacy.example.com:3306/shop"
target "mysql://etl@reports.example.com:3306/reports"

local text, date, hash = require "ferry.text", require "ferry.date", require "ferry.hash"

job {
  after = "REPLACE INTO country_totals (country_id, orders, total) \
           SELECT country_id, COUNT(*), SUM(total) FROM orders GROUP BY country_id",
}

local country_id = lookup { table = "countries", key = "code", value = "id", cache = "all" }
local statuses = { N = "new", P = "paid", S = "shipped", X = "cancelled" }

copy {
  from = "legacy_orders", to = "orders",
  where = "deleted = 0",
  mode = "overwrite",
  on_error = "reject", max_rejects = 100,
  rejects = vars.rejects,
  emit = { order_notes = "upsert" },
  transform = function(r)
    if tonumber(r.total) < 0 then error("a negative total: " .. r.total) end
    if not statuses[r.status_code] then
      emit("order_notes", { order_id = r.order_no, note = "unknown status code " .. r.status_code })
    end
    return {
      id = r.order_no,
      customer = text.squeeze(text.trim(r.cust_name)),
      -- A pseudonym that still joins: the same e-mail, however written, the same key.
      customer_key = hash.sha256(text.lower(text.trim(r.cust_email))),
      country_id = country_id(text.upper(text.trim(r.country))),
      status = statuses[r.status_code] or "unknown",
      placed_utc = date.convert(r.placed_local, "Europe/Berlin", "UTC"),
      total = r.total,
    }
  end,
  check = { sql = "SELECT id FROM orders WHERE country_id IS NULL", expect = "no rows" },
}
