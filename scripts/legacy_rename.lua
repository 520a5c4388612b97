-- A legacy table moves into a new schema: tblMember (CamelCase, free-text fields)
-- becomes members.
-- Shows: renames with map, map functions (first + last name into one column, a
-- dd.mm.yyyy text into a DATE), the built-in `ferry.text` helpers (trim, lower,
-- upper, blank_to_null), same-named columns filled case-insensitively (Phone -> phone),
-- defaults for columns the legacy schema never had, and skipping rows in a transform.
--
--   ferry run scripts/legacy_rename.lua --source URL --target URL
source "mysql://legacy@old-server.example.com:3306/legacy"
target "mysql://root@localhost:3306/crm"

local text = require "ferry.text"

local function full_name(r)
  local parts = {}
  for _, part in ipairs { text.trim(r.FName), text.trim(r.LName) } do
    if part ~= null and part ~= "" then parts[#parts + 1] = part end
  end
  if #parts == 0 then return null end
  return table.concat(parts, " ")
end

-- "31.12.1999" -> "1999-12-31"; anything else -> NULL
local function date_of(s)
  if s == null then return null end
  local d, m, y = s:match("^%s*(%d%d?)%.(%d%d?)%.(%d%d%d%d)%s*$")
  if not d then return null end
  return ("%s-%02d-%02d"):format(y, tonumber(m), tonumber(d))
end

local members = copy {
  from = "tblMember", to = "members",
  map = map {
    id = "MemberID",
    full_name = full_name,
    email = function(r) return text.blank_to_null(text.lower(text.trim(r.EMail))) end,
    country = function(r) return text.upper(text.trim(r.CountryCode)) end,
    joined_on = function(r) return date_of(r.JoinDate) end,
  },
  default = default { status = "active", source_system = "legacy" },
  transform = function(row)
    if row.Deleted == 1 then return nil end   -- soft-deleted members stay behind
    return row
  end,
}
log.info("members: %d read, %d written, %d deleted ones skipped",
         members.read, members.written, members.skipped)
