-- ferry.date: dates and times as ferry hands them to Lua, MySQL text:
-- 'YYYY-MM-DD' (DATE), 'YYYY-MM-DD HH:MM:SS[.ffffff]' (DATETIME, TIMESTAMP). Results
-- are that text too, ready to write to a DATE or DATETIME column. Values are wall-clock
-- times without a zone; zones are named where an instant is meant (unix time,
-- convert): "UTC", "+02:00", or an IANA name like "Europe/Paris" (DST-correct).
-- Every function passes `nil` and `null` through, and a zero date ('0000-00-00', or a
-- zero month or day) is `null`. Formats are strftime's (%Y %m %d %H %M %S %.f %b %z...).
-- See docs/guide/stdlib.md.
local native = require "ferry.native"
local M = {}

local function is_zero(s)
  if type(s) ~= "string" then return false end
  local _, m, d = s:match("^%s*(%d%d%d%d)%-(%d%d)%-(%d%d)")
  return m == "00" or d == "00"
end

local function absent(s)
  return s == nil or s == null or is_zero(s)
end

-- Raises a refused input at the line that called the API function (always tail-called).
local function check(name, v, err)
  if err then error("ferry.date." .. name .. ": " .. err, 2) end
  return v
end

--- zero_to_null(s): null for a zero date ('0000-00-00', '2020-00-00 00:00:00'...),
--- s otherwise.
function M.zero_to_null(s)
  if is_zero(s) then return null end
  return s
end

--- parse(s, format): the MySQL text of s read with a strftime format: a DATETIME text,
--- or a DATE text when the format has no time; an offset (%z) converts to UTC. Returns
--- nil and a message when s does not match, so `date.parse(s, f) or null` works.
function M.parse(s, format)
  if s == nil or s == null then return s end
  return native.date_parse(tostring(s), format)
end

--- format(s, format): s written with a strftime format.
function M.format(s, format)
  if absent(s) then return M.zero_to_null(s) end
  return check("format", native.date_format(s, format))
end

--- add(s, n, unit): s moved by n units: "seconds", "minutes", "hours", "days",
--- "weeks", "months", "years" (singular too); a month or year added to the 31st
--- gives the month's last day, as MySQL's DATE_ADD does.
function M.add(s, n, unit)
  if absent(s) then return M.zero_to_null(s) end
  return check("add", native.date_add(s, math.tointeger(n) or n, unit or "days"))
end

--- diff(a, b [, unit]): whole units (default "seconds") from b to a, truncated;
--- months and years count as MySQL's TIMESTAMPDIFF does.
function M.diff(a, b, unit)
  if absent(a) then return M.zero_to_null(a) end
  if absent(b) then return M.zero_to_null(b) end
  return check("diff", native.date_diff(a, b, unit or "seconds"))
end

--- to_unix(s [, zone]): seconds since 1970-01-01 UTC of s read in zone (default
--- "UTC"); a float when s has a fraction.
function M.to_unix(s, zone)
  if absent(s) then return M.zero_to_null(s) end
  return check("to_unix", native.date_to_unix(s, zone or "UTC"))
end

--- from_unix(n [, zone]): the DATETIME text of unix time n in zone (default "UTC").
function M.from_unix(n, zone)
  if n == nil or n == null then return n end
  if type(n) == "string" then n = tonumber(n) or n end
  return check("from_unix", native.date_from_unix(n, zone or "UTC"))
end

--- convert(s, from_zone, to_zone): the wall-clock time in to_zone of s read in
--- from_zone. A time that happens twice in from_zone (DST ends) is the first; one that
--- never happens (DST starts) moves forward by the gap.
function M.convert(s, from_zone, to_zone)
  if absent(s) then return M.zero_to_null(s) end
  return check("convert", native.date_convert(s, from_zone, to_zone))
end

return M
