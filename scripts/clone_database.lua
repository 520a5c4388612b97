-- Clone a whole database: every table of the source, made on the target from the
-- source's definitions when the target lacks it, and its rows copied.
-- Shows: copy{tables = "*", create = true}, exclude, the counts per table it returns.
-- Tables load parents first (foreign-key order); the foreign keys are added once every
-- table holds its rows. Views, triggers and routines are listed by --dry-run, not
-- copied. Running it again adds only missing rows; --resume continues a stopped run.
--
--   ferry run scripts/clone_database.lua --source URL --target URL [--dry-run]
source "mysql://reader@db1.example.com:3306/shop"
target "mysql://root@localhost:3306/shop_copy"

local s = copy { tables = "*", exclude = { "*_tmp" }, create = true }
if not planning then
  for name, t in pairs(s.tables) do
    log.info("%s: %d read, %d inserted", name, t.read, t.inserted)
  end
  log.info("cloned: %d rows in all", s.inserted)
end
