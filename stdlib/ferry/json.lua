-- ferry.json: JSON text to Lua values and back, and one value out of a document by
-- path. SQL NULL and JSON null stay distinct: `null` (a NULL column) passes through
-- decode and encode unchanged, while the JSON literal null is `json.null`. Objects
-- decode to tables, arrays to tables marked as arrays (so `[]` encodes back as `[]`).
-- See docs/guide/stdlib.md.
local native = require "ferry.native"
local M = {}

--- json.null: the JSON null value (not SQL NULL, which is `null`).
M.null = native.json_null

local function absent(v)
  return v == nil or v == null
end

-- Raises a refused input at the line that called the API function (always tail-called).
local function check(name, v, err)
  if err then error("ferry.json." .. name .. ": " .. err, 2) end
  return v
end

--- decode(s): the Lua value of JSON text s.
function M.decode(s)
  if absent(s) then return s end
  return check("decode", native.json_decode(tostring(s)))
end

-- A table behind a metatable (a transform's row) copied into a plain table, so its
-- fields are seen through pairs(); arrays marked by decode or json.array stay as they are.
local function plain(v)
  local mt = type(v) == "table" and getmetatable(v)
  if not mt or mt == native.json_array_mt then return v end
  local t = {}
  for k, x in pairs(v) do t[k] = x end
  return t
end

--- encode(v [, options]): JSON text for a Lua value (tables, strings, numbers,
--- booleans, json.null; null inside a table is JSON null; a transform's row is an
--- object of its fields); object keys are sorted.
--- options: { pretty = true } for indented text.
function M.encode(v, options)
  if absent(v) then return v end
  return check("encode", native.json_encode(plain(v), options ~= nil and options.pretty == true))
end

--- array(t): marks t as an array, so an empty t encodes as [] (not {}); returns t.
function M.array(t)
  return setmetatable(t or {}, native.json_array_mt)
end

-- "a.b[2].c", "$.a['x y'][0]" -> { "a", "b", 3, "c" } (indexes become 1-based).
local function steps(path)
  local out, i = {}, 1
  if path:sub(1, 1) == "$" then i = 2 end
  while i <= #path do
    local c = path:sub(i, i)
    if c == "." then
      i = i + 1
    elseif c == "[" then
      local n, j = path:match("^%[%s*(%d+)%s*%]()", i)
      local q, k = path:match("^%[%s*[\"']([^\"']*)[\"']%s*%]()", i)
      if n then
        out[#out + 1] = tonumber(n) + 1
        i = j
      elseif q then
        out[#out + 1] = q
        i = k
      else
        error("ferry.json.get: bad path " .. string.format("%q", path), 3)
      end
    else
      local name, j = path:match("^([^%.%[]+)()", i)
      out[#out + 1] = name
      i = j
    end
  end
  return out
end

--- get(doc, path [, default]): the value at path in doc (JSON text or a decoded
--- table). path: names joined by ".", array indexes as [0] (0-based, as in MySQL's
--- JSON paths), names with dots or spaces as ["a b"]; a leading "$" is allowed.
--- A missing value or JSON null gives `default`, or `null`. An object or array is
--- returned as JSON text when doc was text, as a table when doc was a table.
function M.get(doc, path, default)
  if absent(doc) then return doc end
  local was_text = type(doc) ~= "table"
  local v = doc
  if was_text then
    local err
    v, err = native.json_decode(tostring(doc))
    if err then error("ferry.json.get: " .. err, 2) end
  end
  for _, step in ipairs(steps(path)) do
    if type(v) ~= "table" then
      v = nil
      break
    end
    v = v[step]
  end
  if v == nil or v == M.null then
    if default == nil then return null end
    return default
  end
  if type(v) == "table" and was_text then
    return check("get", native.json_encode(v, false))
  end
  return v
end

return M
