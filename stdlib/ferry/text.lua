-- ferry.text: small string helpers for transforms and map functions.
-- Every function passes `null` (SQL NULL) through unchanged, so
-- `map { email = function(r) return text.lower(r.email) end }` is safe on NULLs.
local M = {}

local function passthrough(s)
  return s == nil or s == null
end

--- Removes leading and trailing white space.
function M.trim(s)
  if passthrough(s) then return s end
  return (tostring(s):gsub("^%s+", ""):gsub("%s+$", ""))
end

--- Lower-cases ASCII letters (bytes outside ASCII are kept as they are).
function M.lower(s)
  if passthrough(s) then return s end
  return string.lower(tostring(s))
end

--- Upper-cases ASCII letters (bytes outside ASCII are kept as they are).
function M.upper(s)
  if passthrough(s) then return s end
  return string.upper(tostring(s))
end

--- Returns `null` for an empty or all-blank string, the string otherwise.
function M.blank_to_null(s)
  if passthrough(s) then return s end
  if tostring(s):match("^%s*$") then return null end
  return s
end

--- Splits `s` on a plain separator `sep` (default ",") into an array.
function M.split(s, sep)
  sep = sep or ","
  local out, start = {}, 1
  while true do
    local i, j = string.find(s, sep, start, true)
    if not i then
      out[#out + 1] = string.sub(s, start)
      return out
    end
    out[#out + 1] = string.sub(s, start, i - 1)
    start = j + 1
  end
end

return M
