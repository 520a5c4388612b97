-- ferry.mask: deterministic, format-preserving masks for personal data in test copies.
-- Give a salt once (mask.salt(env("MASK_SALT"))); then the same value and salt always
-- mask to the same value, so keys and joins still line up across tables and runs, and
-- another salt gives other values. Letters stay letters (with their case), digits
-- stay digits, CJK, Hangul and kana stay in their script, and the rest (spaces,
-- punctuation, "@", ".") stays in place. Masks are one-to-one: two different values
-- never mask to the same value, so unique columns stay unique (values equal but for
-- letter case mask to values equal but for letter case). Every function passes `nil`
-- and `null` through. See docs/guide/stdlib.md.
local native = require "ferry.native"
local M = {}

local salt = nil

local function absent(v)
  return v == nil or v == null
end

local function text(name, v)
  if type(v) == "number" then return tostring(v) end
  if type(v) ~= "string" then
    error("ferry.mask." .. name .. ": a string or number, not a " .. type(v), 3)
  end
  return v
end

local function chars(name, tweak, v, which)
  if salt == nil then
    error("ferry.mask." .. name .. ": no salt: call ferry.mask.salt(env(\"MASK_SALT\")) "
      .. "first (a secret of your own: the same salt gives the same masks)", 3)
  end
  local out, err = native.mask_chars(salt, tweak, v, which)
  if err then error("ferry.mask." .. name .. ": " .. err, 3) end
  return out
end

--- salt(secret): sets the secret every mask of this job is keyed with (at least 8
--- bytes). Without it the masks refuse to run.
function M.salt(secret)
  if type(secret) ~= "string" or #secret < 8 then
    error("ferry.mask.salt: the salt is a string of at least 8 bytes", 2)
  end
  salt = secret
end

--- has_salt(): whether a salt was given (by salt() or job{mask_salt = ...}).
function M.has_salt()
  return salt ~= nil
end

--- text(v): every letter and digit masked, the rest kept ("Ann 42" -> "Qzv 07").
function M.text(v)
  if absent(v) then return v end
  return chars("text", "text", text("text", v), "ld")
end

--- name(v): letters masked, digits and the rest kept ("O'Neil" -> "K'Ruxp").
function M.name(v)
  if absent(v) then return v end
  return chars("name", "name", text("name", v), "l")
end

--- digits(v): digits masked, the rest kept ("+1 (555) 010-9999" -> "+7 (203) 881-4526").
--- An integer gives an integer with as many digits (and its sign).
function M.digits(v)
  if absent(v) then return v end
  local s = text("digits", v)
  local out = chars("digits", "digits", s, "d")
  if math.type(v) == "integer" then
    -- Cycle-walking: mask again until no leading zero, which stays one-to-one on the
    -- integers of this many digits.
    while out:find("^%-?0%d") do
      out = chars("digits", "digits", out, "d")
    end
    return math.tointeger(tonumber(out)) or out
  end
  return out
end

--- keep_last(v, n): the last n characters kept, letters and digits before them masked
--- ("4111 1111 1111 1234", 4 -> "8302 5517 0946 1234").
function M.keep_last(v, n)
  if absent(v) then return v end
  if math.type(n) ~= "integer" or n < 0 then
    error("ferry.mask.keep_last: n is a whole number of characters, 0 or more", 2)
  end
  local s = text("keep_last", v)
  local len = utf8.len(s)
  if len == nil then error("ferry.mask.keep_last: not UTF-8 text", 2) end
  if n >= len then return s end
  local cut = utf8.offset(s, len - n + 1)
  local head, tail = s:sub(1, cut - 1), s:sub(cut)
  -- The kept tail keys the mask, so the whole stays one-to-one.
  return chars("keep_last", "keep_last:" .. tail, head, "ld") .. tail
end

--- email(v): the part before "@" and the domain's labels masked, the top-level domain
--- kept ("ann.lee@acme.co.uk" -> "qxz.fbo@wplk.qk.uk").
function M.email(v)
  if absent(v) then return v end
  local s = text("email", v)
  local user, domain = s:match("^(.*)@([^@]*)$")
  if not user then return chars("email", "email", s, "ld") end
  local head, tld = domain:match("^(.*)(%.[^.]*)$")
  if not head then head, tld = domain, "" end
  return chars("email", "email-user", user, "ld") .. "@"
    .. chars("email", "email-domain", head, "ld") .. tld
end

--- hash(v[, n]): a keyed SHA-256 of the value, as n hex digits (default 16): for
--- values that need not keep their shape. Two values may share a short hash.
function M.hash(v, n)
  if absent(v) then return v end
  n = n or 16
  if math.type(n) ~= "integer" or n < 1 or n > 64 then
    error("ferry.mask.hash: n is 1 to 64 hex digits", 2)
  end
  if salt == nil then
    error("ferry.mask.hash: no salt: call ferry.mask.salt(env(\"MASK_SALT\")) first", 2)
  end
  return native.hash_hmac_sha256(salt, text("hash", v), false):sub(1, n)
end

--- null(v): SQL NULL, whatever the value.
function M.null(_)
  return null
end

--- keep(v): the value unchanged (for listing a column as reviewed).
function M.keep(v)
  return v
end

--- rule(name): the mask a rule names, as a function of the value: "text", "name",
--- "digits", "email", "hash", "hash:N", "keep_last:N", "null" or "keep".
function M.rule(name)
  if type(name) ~= "string" then
    error("ferry.mask.rule: a rule name (a string), not a " .. type(name), 2)
  end
  local kind, arg = name:match("^([%w_]+):(%d+)$")
  if kind == "keep_last" then
    local n = tonumber(arg)
    return function(v) return M.keep_last(v, n) end
  elseif kind == "hash" then
    local n = tonumber(arg)
    return function(v) return M.hash(v, n) end
  end
  local f = ({ text = M.text, name = M.name, digits = M.digits, email = M.email,
    hash = M.hash, null = M.null, keep = M.keep })[name]
  if not f then
    error("ferry.mask.rule: unknown rule " .. string.format("%q", name) .. " (text, name, "
      .. "digits, email, hash, hash:N, keep_last:N, null, keep)", 2)
  end
  return f
end

return M
