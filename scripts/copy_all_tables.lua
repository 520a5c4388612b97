-- Copy every table the two databases have in common, unchanged.
-- Shows: listing tables with source():tables() / target():tables(), copy(name) with
-- all defaults (same-named columns, mode "insert"), and the counts copy returns.
-- This loop never creates tables: create the target schema first; source tables the
-- target lacks are skipped with a warning (scripts/clone_database.lua copies every
-- table and makes the missing ones: copy{tables = "*", create = true}). Running it again adds only missing rows.
--
--   ferry run scripts/copy_all_tables.lua --source URL --target URL
source "mysql://reader@db1.example.com:3306/shop"
target "mysql://root@localhost:3306/shop_copy"

local in_target = {}
for _, name in ipairs(target():tables()) do
  in_target[name] = true
end

local tables, rows = 0, 0
for _, name in ipairs(source():tables()) do
  if name:match("^_ferry") then
    -- ferry's own bookkeeping (the source was itself a ferry target): not data
  elseif in_target[name] then
    local s = copy(name)
    log.info("%s: %d read, %d inserted, %d already there", name, s.read, s.inserted, s.ignored)
    tables, rows = tables + 1, rows + s.inserted
  else
    log.warn("%s: not in the target database, skipped", name)
  end
end
log.info("copied %d tables, %d new rows", tables, rows)
