-- ferry.id: new identifiers for rows, and UUIDs between their text and binary forms.
-- uuid4 is random; uuid7 and ulid start with the time in milliseconds, so they sort
-- in the order they were made (and are strictly increasing within a run). Each gives
-- text, or 16 bytes for a BINARY(16) column when called with "binary". See
-- docs/guide/stdlib.md.
local native = require "ferry.native"
local M = {}

local function absent(s)
  return s == nil or s == null
end

-- Raises a refused input at the line that called the API function (always tail-called).
local function check(name, v, err)
  if err then error("ferry.id." .. name .. ": " .. err, 2) end
  return v
end

local function binary(form)
  if form == nil or form == "text" then return false end
  if form == "binary" then return true end
  error("ferry.id: the form is \"text\" or \"binary\", not " .. tostring(form), 3)
end

--- uuid4([form]): a random UUID: "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx", or 16 bytes
--- when form is "binary".
function M.uuid4(form)
  local b = native.id_uuid4()
  if binary(form) then return b end
  return (native.id_uuid_text(b))
end

--- uuid7([form]): a time-ordered UUID (version 7), text or 16 bytes.
function M.uuid7(form)
  local b = native.id_uuid7()
  if binary(form) then return b end
  return (native.id_uuid_text(b))
end

--- ulid([form]): a ULID: 26 characters of Crockford base 32, or 16 bytes.
function M.ulid(form)
  return native.id_ulid(binary(form))
end

--- uuid_to_binary(s): the 16 bytes of a UUID's text (any case; hyphens, braces
--- optional), e.g. to move a CHAR(36) key into a BINARY(16) column.
function M.uuid_to_binary(s)
  if absent(s) then return s end
  return check("uuid_to_binary", native.id_uuid_bytes(tostring(s)))
end

--- uuid_to_text(b): the lower-case hyphenated text of a 16-byte UUID.
function M.uuid_to_text(b)
  if absent(b) then return b end
  return check("uuid_to_text", native.id_uuid_text(b))
end

return M
