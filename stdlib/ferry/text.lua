-- ferry.text: string helpers for transforms and map functions, UTF-8 aware: lengths
-- and positions count characters, not bytes (a byte that is not valid UTF-8 counts as
-- one character and is kept as it is). Every function passes `nil` and `null` (SQL
-- NULL) through unchanged, so `map { email = function(r) return text.lower(r.email)
-- end }` is safe on NULLs. Numbers are taken as their text. See docs/guide/stdlib.md.
local native = require "ferry.native"
local M = {}

local function absent(s)
  return s == nil or s == null
end

local function str(s)
  if type(s) == "string" then return s end
  return tostring(s)
end

-- A function of a string (and more arguments) that passes nil and null through.
local function wrap(f)
  return function(s, ...)
    if absent(s) then return s end
    return f(str(s), ...)
  end
end

--- lower(s): every character lower-cased ("ÉCOLE" -> "école").
M.lower = wrap(native.text_lower)

--- upper(s): every character upper-cased ("straße" -> "STRASSE").
M.upper = wrap(native.text_upper)

--- length(s): the number of characters.
M.length = wrap(native.text_length)

--- sub(s, i [, j]): characters i..j (1-based, negative from the end), as string.sub.
M.sub = wrap(function(s, i, j)
  return native.text_sub(s, i or 1, j or -1)
end)

--- truncate(s, n [, suffix]): at most n characters; when cut, the last ones are
--- `suffix` (e.g. "…"), counted in n.
M.truncate = wrap(function(s, n, suffix)
  if native.text_length(s) <= n then return s end
  suffix = suffix or ""
  local keep = n - native.text_length(suffix)
  if keep <= 0 then return native.text_sub(suffix, 1, n) end
  return native.text_sub(s, 1, keep) .. suffix
end)

--- trim(s [, chars]): without leading and trailing white space (Unicode), or without
--- any of the characters of `chars`.
M.trim = wrap(function(s, chars) return native.text_trim(s, "both", chars) end)

--- ltrim(s [, chars]): trim at the start only.
M.ltrim = wrap(function(s, chars) return native.text_trim(s, "left", chars) end)

--- rtrim(s [, chars]): trim at the end only.
M.rtrim = wrap(function(s, chars) return native.text_trim(s, "right", chars) end)

--- squeeze(s): every run of white space as one space, none at the ends.
M.squeeze = wrap(native.text_squeeze)

--- split(s [, sep]): the parts of s between occurrences of the plain separator `sep`
--- (default ","), as an array.
M.split = wrap(function(s, sep)
  sep = sep or ","
  if sep == "" then error("ferry.text.split: the separator is empty", 2) end
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
end)

--- join(list [, sep]): the elements of an array joined with `sep` (default ","); null
--- and nil elements are skipped, as CONCAT_WS skips NULLs.
function M.join(list, sep)
  if absent(list) then return list end
  local parts = {}
  for i = 1, #list do
    local v = list[i]
    if not absent(v) then parts[#parts + 1] = str(v) end
  end
  return table.concat(parts, sep or ",")
end

local function padding(s, n, fill)
  fill = fill or " "
  if fill == "" then error("ferry.text.pad: the fill is empty", 3) end
  local missing = n - native.text_length(s)
  if missing <= 0 then return "" end
  local reps = missing // native.text_length(fill) + 1
  return native.text_sub(string.rep(fill, reps), 1, missing)
end

--- pad_left(s, n [, fill]): s preceded by `fill` (default " ") up to n characters.
M.pad_left = wrap(function(s, n, fill) return padding(s, n, fill) .. s end)

--- pad_right(s, n [, fill]): s followed by `fill` (default " ") up to n characters.
M.pad_right = wrap(function(s, n, fill) return s .. padding(s, n, fill) end)

--- pad(s, n [, fill [, side]]): pad_right, or pad_left when side is "left".
M.pad = wrap(function(s, n, fill, side)
  if side == "left" then return padding(s, n, fill) .. s end
  if side ~= nil and side ~= "right" then
    error("ferry.text.pad: side is \"left\" or \"right\"", 2)
  end
  return s .. padding(s, n, fill)
end)

--- replace(s, from, to): every occurrence of the plain text `from` replaced by `to`.
M.replace = wrap(function(s, from, to)
  if type(from) ~= "string" or (type(to) ~= "string" and type(to) ~= "number") then
    error("ferry.text.replace: `from` and `to` are strings", 2)
  end
  if from == "" then return s end
  local out, start = {}, 1
  while true do
    local i, j = string.find(s, from, start, true)
    if not i then break end
    out[#out + 1] = string.sub(s, start, i - 1)
    out[#out + 1] = to
    start = j + 1
  end
  out[#out + 1] = string.sub(s, start)
  return table.concat(out)
end)

--- replace_pattern(s, pattern, repl [, n]): string.gsub with a Lua pattern (patterns
--- match bytes), returning only the string.
M.replace_pattern = wrap(function(s, pattern, repl, n)
  return (string.gsub(s, pattern, repl, n))
end)

--- to_halfwidth(s): full-width letters, digits and signs as ASCII ("ＡＢ１" -> "AB1").
M.to_halfwidth = wrap(native.text_halfwidth)

--- remove_diacritics(s): letters without accents and strokes ("Łódź" -> "Lodz").
M.remove_diacritics = wrap(native.text_unaccent)

--- slug(s [, sep]): lower case letters and digits without diacritics, other runs as
--- `sep` (default "-"): "Crème Brûlée!" -> "creme-brulee".
M.slug = wrap(function(s, sep) return native.text_slug(s, sep or "-") end)

--- blank_to_null(s): null for an empty or all-white-space string, s otherwise.
function M.blank_to_null(s)
  if absent(s) then return s end
  if native.text_trim(str(s), "both") == "" then return null end
  return s
end

--- is_email(s): whether s has the shape of an e-mail address (a practical check).
M.is_email = wrap(native.text_is_email)

return M
