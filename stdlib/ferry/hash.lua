-- ferry.hash: digests of a value's bytes, for keys, fingerprints and pseudonyms.
-- md5, sha1, sha256 and hmac_sha256 give lower-case hex, or the raw bytes (for a
-- BINARY column) when the last argument is "binary"; crc32 gives an integer (as
-- MySQL's CRC32()); xxhash64 gives 16 hex digits. Every function passes `nil` and
-- `null` through; numbers are hashed as their Lua text (tostring). See
-- docs/guide/stdlib.md.
local native = require "ferry.native"
local M = {}

local function absent(s)
  return s == nil or s == null
end

local function bytes(s)
  if type(s) == "string" then return s end
  return tostring(s)
end

local function binary(form)
  if form == nil or form == "hex" then return false end
  if form == "binary" then return true end
  error("ferry.hash: the form is \"hex\" or \"binary\", not " .. tostring(form), 3)
end

local function digest(algorithm)
  return function(s, form)
    if absent(s) then return s end
    return native.hash_digest(algorithm, bytes(s), binary(form))
  end
end

--- md5(s [, "binary"]): the MD5 of s (32 hex digits, or 16 bytes).
M.md5 = digest("md5")

--- sha1(s [, "binary"]): the SHA-1 of s (40 hex digits, or 20 bytes).
M.sha1 = digest("sha1")

--- sha256(s [, "binary"]): the SHA-256 of s (64 hex digits, or 32 bytes).
M.sha256 = digest("sha256")

--- hmac_sha256(key, s [, "binary"]): the HMAC-SHA-256 of s with key (64 hex digits,
--- or 32 bytes).
function M.hmac_sha256(key, s, form)
  if absent(s) then return s end
  return native.hash_hmac_sha256(bytes(key), bytes(s), binary(form))
end

--- crc32(s): the CRC-32 of s as an integer (the same as MySQL's CRC32(s)).
function M.crc32(s)
  if absent(s) then return s end
  return native.hash_crc32(bytes(s))
end

--- xxhash64(s [, seed]): the XXH64 of s (seed default 0) as 16 hex digits.
function M.xxhash64(s, seed)
  if absent(s) then return s end
  return native.hash_xxhash64(bytes(s), seed or 0)
end

return M
