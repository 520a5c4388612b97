-- A small, anonymised production sample for a test environment: the first N
-- customers who signed up since a date, with their orders, e-mail addresses and
-- phone numbers masked on the way.
-- Shows: `vars` with fallbacks, a read-only query on the source to pick the sample,
-- `where` (also with a subquery, so orders match the sampled customers), a transform
-- that rewrites fields, and mode "overwrite" so a re-run refreshes the sample.
--
--   ferry run scripts/sample_for_test.lua --source URL --target URL \
--       --var limit=500 --var since=2024-01-01
source "mysql://reader@prod-replica.example.com:3306/shop"
target "mysql://root@test-db.example.com:3306/shop_test"

local limit = math.tointeger(tonumber(vars.limit or "1000"))
local since = vars.since or "2024-01-01"
assert(limit and limit >= 1, "--var limit=N: N must be a whole number >= 1")
assert(since:match("^%d%d%d%d%-%d%d%-%d%d$"), "--var since=YYYY-MM-DD")

-- The sample: customers created since `since`, the first `limit` of them by id.
local last = source():query(
  "SELECT MAX(id) AS last_id FROM " ..
  "(SELECT id FROM customers WHERE created_at >= ? ORDER BY id LIMIT ?) AS s",
  since, limit)[1].last_id
local sampled = ("created_at >= '%s'"):format(since)
if last ~= null then
  sampled = sampled .. (" AND id <= %d"):format(last)
end

-- user42@example.invalid: unique per customer, never deliverable.
local function mask_email(row)
  if row.email == null then return null end
  return ("user%d@example.invalid"):format(row.id)
end

-- "+49 170 1234567" -> "+xx xxx xxxxx67": the format stays, only the last two digits remain.
local function mask_phone(phone)
  if phone == null then return null end
  local digits = select(2, phone:gsub("%d", "%0"))
  local seen = 0
  return (phone:gsub("%d", function(d)
    seen = seen + 1
    if seen <= digits - 2 then return "x" end
  end))
end

local customers = copy {
  from = "customers",
  mode = "overwrite",
  where = sampled,
  transform = function(row)
    row.email = mask_email(row)
    row.phone = mask_phone(row.phone)
    return row
  end,
}

local orders = copy {
  from = "orders",
  mode = "overwrite",
  where = "customer_id IN (SELECT id FROM customers WHERE " .. sampled .. ")",
}
log.info("sample since %s: %d customers, %d orders", since, customers.read, orders.read)
