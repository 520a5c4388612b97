//! The built-in Lua modules (`ferry.text`, `ferry.date`, `ferry.json`, `ferry.hash`,
//! `ferry.id`): every function, run by the real binary inside a job, with `nil` and
//! `null` passed through, multibyte text, DST edges and errors at the caller's line;
//! and a copy whose transform uses several modules, checked in the target.

use crate::support::*;
use mysql::prelude::Queryable;

/// `eq(got, want)`: fails at the caller's line with both values shown.
const PRELUDE: &str = r#"
local function eq(got, want)
  if got ~= want then
    error(string.format("got %q, want %q", tostring(got), tostring(want)), 2)
  end
end
"#;

/// Runs `code` (after PRELUDE) as a job with no copies; it must succeed.
fn lua_ok(test: &str, code: &str) {
    let dbs = Dbs::new(test);
    dbs.run_code(&format!("{PRELUDE}{code}"), &[]).ok();
}

#[test]
fn text_counts_characters_and_passes_null_through() {
    lua_ok(
        "stdlib_text",
        r#"
local text = require "ferry.text"
local names = { "lower", "upper", "length", "sub", "truncate", "trim", "ltrim", "rtrim",
  "squeeze", "split", "join", "pad", "pad_left", "pad_right", "replace", "replace_pattern",
  "to_halfwidth", "remove_diacritics", "slug", "blank_to_null", "is_email" }
for _, name in ipairs(names) do
  assert(text[name](null) == null, name .. "(null)")
  assert(text[name](nil) == nil, name .. "(nil)")
end
eq(text.lower("ÉCOLE Straße ΑΒΓ"), "école straße αβγ")
eq(text.upper("straße é"), "STRASSE É")
eq(text.lower("A\255B"), "a\255b")
eq(text.lower(42), "42")
eq(text.length("añb张"), 4)
eq(text.length(""), 0)
eq(text.sub("añb张", 2, 3), "ñb")
eq(text.sub("añb张", -2), "b张")
eq(text.sub("añb张", 3, 2), "")
eq(text.truncate("Grüße aus Köln", 5), "Grüße")
eq(text.truncate("Grüße aus Köln", 8, "…"), "Grüße a…")
eq(text.truncate("kurz", 8, "…"), "kurz")
eq(text.trim("\u{3000} Ann\u{a0}\n"), "Ann")
eq(text.ltrim("  a  "), "a  ")
eq(text.rtrim("  a  "), "  a")
eq(text.trim("--a-b--", "-"), "a-b")
eq(text.squeeze("  Ann \t  Lee\n "), "Ann Lee")
local parts = text.split("a,,b,张")
eq(#parts, 4) eq(parts[2], "") eq(parts[4], "张")
eq(#text.split("a::b::c", "::"), 3)
eq(text.join({ "a", null, "b", 3 }, "-"), "a-b-3")
eq(text.join({}), "")
eq(text.pad_left("7", 3, "0"), "007")
eq(text.pad_right("张", 3, "·"), "张··")
eq(text.pad("ab", 5, "xy", "left"), "xyxab")
eq(text.pad("ab", 4), "ab  ")
eq(text.pad("toolong", 3), "toolong")
eq(text.replace("a.b.c", ".", "::"), "a::b::c")
eq(text.replace("ñañaña", "ña", "na"), "nanana")
eq(text.replace_pattern("tel: 01-23 45", "%D", ""), "012345")
eq(text.replace_pattern("aaa", "a", "b", 2), "bba")
eq(text.to_halfwidth("ＡＢＣ　１２３！"), "ABC 123!")
eq(text.remove_diacritics("Crème Brûlée, Łódź, Ørsted"), "Creme Brulee, Lodz, Orsted")
eq(text.slug("  Crème Brûlée & Straße! "), "creme-brulee-strasse")
eq(text.slug("Hello World", "_"), "hello_world")
eq(text.blank_to_null(" \t\u{3000}"), null)
eq(text.blank_to_null(""), null)
eq(text.blank_to_null(" x "), " x ")
eq(text.is_email("ann.lee+news@example.org"), true)
eq(text.is_email("zhang@例子.中国"), true)
eq(text.is_email("ann@localhost"), false)
eq(text.is_email("a b@x.org"), false)
local ok, err = pcall(text.split, "a", "")
assert(not ok and err:find("separator is empty"), err)
ok, err = pcall(text.replace, "a", "a")
assert(not ok and err:find("are strings"), err)
"#,
    );
}

#[test]
fn date_reads_mysql_text_and_converts_zones_dst_correctly() {
    lua_ok(
        "stdlib_date",
        r#"
local date = require "ferry.date"
for _, name in ipairs { "parse", "format", "add", "diff", "to_unix", "from_unix",
                        "convert", "zero_to_null" } do
  assert(date[name](null) == null, name .. "(null)")
  assert(date[name](nil) == nil, name .. "(nil)")
end
-- Zero dates are null, for every function.
eq(date.zero_to_null("0000-00-00 00:00:00"), null)
eq(date.zero_to_null("0000-00-00"), null)
eq(date.zero_to_null("2020-05-00"), null)
eq(date.zero_to_null("0000-01-01"), "0000-01-01")
eq(date.format("0000-00-00 00:00:00", "%Y"), null)
eq(date.add("0000-00-00", 1, "days"), null)
eq(date.diff("2020-01-01", "0000-00-00"), null)
-- parse and format
eq(date.parse("03/12/2026", "%d/%m/%Y"), "2026-12-03")
eq(date.parse("3 Dec 2026 7:05 pm", "%e %b %Y %I:%M %P"), "2026-12-03 19:05:00")
eq(date.parse("2026-12-03T10:00:00.25+02:00", "%Y-%m-%dT%H:%M:%S%.f%:z"), "2026-12-03 08:00:00.250000")
local v, err = date.parse("31/02/2026", "%d/%m/%Y")
assert(v == nil and err:find("does not match"), err)
eq(date.parse("31/02/2026", "%d/%m/%Y") or null, null)
eq(date.format("2026-12-03 07:05:09", "%d.%m.%Y %H:%M"), "03.12.2026 07:05")
eq(date.format("2026-12-03", "%A %-d %B"), "Thursday 3 December")
-- add and diff
eq(date.add("2024-01-31", 1, "month"), "2024-02-29")
eq(date.add("2024-02-29", 1, "years"), "2025-02-28")
eq(date.add("2024-03-01", -1, "day"), "2024-02-29")
eq(date.add("2024-12-31 23:59:59.5", 1, "seconds"), "2025-01-01 00:00:00.5")
eq(date.add("2024-01-01", 90, "minutes"), "2024-01-01 01:30:00")
eq(date.add("2024-01-01", 2), "2024-01-03")
eq(date.diff("2024-03-01 00:00:00", "2024-02-28 12:00:00"), 129600)
eq(date.diff("2024-03-01", "2024-02-28", "days"), 2)
eq(date.diff("2024-03-30", "2024-01-31", "months"), 1)
eq(date.diff("2020-02-29", "2024-02-28", "years"), -3)
-- unix time
eq(date.to_unix("1970-01-02 00:00:00"), 86400)
eq(date.to_unix("2024-07-01 02:00:00", "Europe/Paris"), 1719792000)
eq(date.to_unix("1970-01-01 00:00:01.5"), 1.5)
eq(date.from_unix(0), "1970-01-01 00:00:00")
eq(date.from_unix(1719792000, "Europe/Paris"), "2024-07-01 02:00:00")
eq(date.from_unix(1.25), "1970-01-01 00:00:01.250000")
eq(date.from_unix("86400"), "1970-01-02 00:00:00")
-- zones, across both DST edges
eq(date.convert("2024-07-01 12:00:00", "UTC", "Europe/Paris"), "2024-07-01 14:00:00")
eq(date.convert("2024-01-15 12:00:00", "UTC", "Europe/Paris"), "2024-01-15 13:00:00")
eq(date.convert("2024-03-31 00:59:59", "UTC", "Europe/Paris"), "2024-03-31 01:59:59")
eq(date.convert("2024-03-31 01:00:00", "UTC", "Europe/Paris"), "2024-03-31 03:00:00")
eq(date.convert("2024-03-31 02:30:00", "Europe/Paris", "UTC"), "2024-03-31 01:30:00")
eq(date.convert("2024-10-27 00:30:00", "UTC", "Europe/Paris"), "2024-10-27 02:30:00")
eq(date.convert("2024-10-27 01:30:00", "UTC", "Europe/Paris"), "2024-10-27 02:30:00")
eq(date.convert("2024-10-27 02:30:00", "Europe/Paris", "UTC"), "2024-10-27 00:30:00")
eq(date.convert("2024-11-03 01:30:00", "America/New_York", "Asia/Kolkata"), "2024-11-03 11:00:00")
eq(date.convert("2024-06-01", "Australia/Sydney", "UTC"), "2024-05-31 14:00:00")
eq(date.convert("2024-06-01 10:00:00.123", "+05:30", "-01:00"), "2024-06-01 03:30:00.123")
local ok, msg = pcall(date.convert, "2024-01-01", "Mars/Olympus", "UTC")
assert(not ok and msg:find("unknown time zone"), msg)
ok, msg = pcall(date.add, "yesterday", 1, "days")
assert(not ok and msg:find("ferry.date.add: not a date"), msg)
"#,
    );
}

#[test]
fn a_bad_argument_is_reported_at_the_jobs_line() {
    let dbs = Dbs::new("stdlib_errors");
    let job = dbs.job(
        "errs.lua",
        "local date = require \"ferry.date\"\n\nlocal x = date.add(\"2024-13-01\", 1, \"days\")\n",
    );
    dbs.run(&job, &[])
        .status(2)
        .says("errs.lua:3: ferry.date.add: not a date or datetime");
    let job = dbs.job(
        "errs2.lua",
        "local json = require \"ferry.json\"\nlocal v = json.decode(\"{\")\n",
    );
    dbs.run(&job, &[])
        .status(2)
        .says("errs2.lua:2: ferry.json.decode: not JSON");
    let job = dbs.job(
        "errs3.lua",
        "local text = require \"ferry.text\"\nlocal v = text.pad(\"a\", 3, \"\")\n",
    );
    dbs.run(&job, &[])
        .status(2)
        .says("errs3.lua:2: ferry.text.pad: the fill is empty");
}

#[test]
fn json_keeps_sql_null_and_json_null_apart() {
    lua_ok(
        "stdlib_json",
        r#"
local json = require "ferry.json"
for _, name in ipairs { "decode", "encode", "get" } do
  assert(json[name](null) == null, name .. "(null)")
  assert(json[name](nil) == nil, name .. "(nil)")
end
local doc = json.decode('{"name":"Zoë","tags":["a","b"],"empty":[],"none":null,"n":{"x":1.5,"big":9007199254740993}}')
eq(doc.name, "Zoë")
eq(doc.tags[2], "b")
eq(doc.none, json.null)
assert(doc.none ~= null, "JSON null is not SQL NULL")
eq(doc.n.big, 9007199254740993)
eq(json.decode("null"), json.null)
eq(json.encode(json.null), "null")
eq(json.encode(doc), '{"empty":[],"n":{"big":9007199254740993,"x":1.5},"name":"Zoë","none":null,"tags":["a","b"]}')
eq(json.encode({ 1, 2, "three" }), '[1,2,"three"]')
eq(json.encode({}), "{}")
eq(json.encode(json.array()), "[]")
eq(json.encode({ a = null, b = true }), '{"a":null,"b":true}')
eq(json.encode({ a = { 1 } }, { pretty = true }), '{\n  "a": [\n    1\n  ]\n}')
eq(json.encode("a\"b"), '"a\\"b"')
local text = '{"user":{"address":{"city":"Zürich"},"phones":["+41 1","+41 2"]},"a.b":{"c":null}}'
eq(json.get(text, "user.address.city"), "Zürich")
eq(json.get(text, "$.user.phones[1]"), "+41 2")
eq(json.get(text, "user.address"), '{"city":"Zürich"}')
eq(json.get(text, 'user["address"].city'), "Zürich")
eq(json.get(text, '["a.b"].c'), null)
eq(json.get(text, "user.missing"), null)
eq(json.get(text, "user.phones[5]", "none"), "none")
eq(json.get(doc, "tags[0]"), "a")
eq(json.get(doc, "n").x, 1.5)
local ok, msg = pcall(json.decode, "{nope")
assert(not ok and msg:find("ferry.json.decode: not JSON"), msg)
ok, msg = pcall(json.encode, { f = print })
assert(not ok and msg:find("no JSON form"), msg)
ok, msg = pcall(json.get, text, "a[")
assert(not ok and msg:find("bad path"), msg)
"#,
    );
}

#[test]
fn hashes_match_known_digests() {
    lua_ok(
        "stdlib_hash",
        r#"
local hash = require "ferry.hash"
for _, name in ipairs { "md5", "sha1", "sha256", "crc32", "xxhash64" } do
  assert(hash[name](null) == null, name .. "(null)")
  assert(hash[name](nil) == nil, name .. "(nil)")
end
eq(hash.hmac_sha256("key", null), null)
eq(hash.md5("abc"), "900150983cd24fb0d6963f7d28e17f72")
eq(hash.sha1("abc"), "a9993e364706816aba3e25717850c26c9cd0d89d")
eq(hash.sha256("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
eq(hash.sha256(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
eq(#hash.sha256("abc", "binary"), 32)
eq(hash.sha256("abc", "binary"):byte(1), 0xba)
eq(#hash.md5("abc", "binary"), 16)
eq(hash.sha1("é"), "bf15be717ac1b080b4f1c456692825891ff5073d")
eq(hash.md5(42), hash.md5("42"))
eq(hash.hmac_sha256("Jefe", "what do ya want for nothing?"),
   "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
eq(hash.crc32("123456789"), 3421780262)
eq(hash.crc32(""), 0)
eq(hash.xxhash64(""), "ef46db3751d8e999")
eq(hash.xxhash64("abc"), "44bc2cf5ad770999")
assert(hash.xxhash64("abc", 1) ~= hash.xxhash64("abc"))
local ok, msg = pcall(hash.md5, "x", "base64")
assert(not ok and msg:find("hex"), msg)
"#,
    );
}

#[test]
fn ids_are_well_formed_ordered_and_convert() {
    lua_ok(
        "stdlib_id",
        r#"
local id = require "ferry.id"
local hex = "^%x%x%x%x%x%x%x%x%-%x%x%x%x%-"
local u4, u7 = id.uuid4(), id.uuid7()
assert(u4:match(hex .. "4%x%x%x%-[89ab]%x%x%x%-%x+$") and #u4 == 36, u4)
assert(u7:match(hex .. "7%x%x%x%-[89ab]%x%x%x%-%x+$") and #u7 == 36, u7)
assert(id.uuid4() ~= id.uuid4())
eq(#id.uuid4("binary"), 16)
eq(id.uuid4("binary"):byte(7) >> 4, 4)
eq(id.uuid7("binary"):byte(7) >> 4, 7)
local l = id.ulid()
assert(#l == 26 and l:match("^[0-9A-HJKMNP-TV-Z]+$"), l)
eq(#id.ulid("binary"), 16)
local prev7, prevl = id.uuid7(), id.ulid()
for _ = 1, 500 do
  local a, b = id.uuid7(), id.ulid()
  assert(a > prev7 and b > prevl, "increasing")
  prev7, prevl = a, b
end
local text = "6ba7b810-9dad-11d1-80b4-00c04fd430c8"
local bin = id.uuid_to_binary(text:upper())
eq(#bin, 16)
eq(bin:byte(1), 0x6b)
eq(id.uuid_to_text(bin), text)
eq(id.uuid_to_binary(null), null)
eq(id.uuid_to_text(nil), nil)
local ok, msg = pcall(id.uuid_to_binary, "not-a-uuid")
assert(not ok and msg:find("not a UUID"), msg)
ok, msg = pcall(id.uuid_to_text, "short")
assert(not ok and msg:find("16 bytes"), msg)
"#,
    );
}

#[test]
fn a_transform_using_several_modules_writes_the_target() {
    let mut dbs = Dbs::new("stdlib_copy");
    dbs.src("CREATE TABLE people (id INT PRIMARY KEY, name VARCHAR(60) NULL, email VARCHAR(100) NULL, seen DATETIME NULL, attrs TEXT NULL, legacy CHAR(36) NULL)");
    dbs.src(
        "INSERT INTO people VALUES
         (1, '  ＪＯＳÉ  Ñúñez ', ' Jose@Example.COM ', '2024-03-31 02:30:00', '{\"city\":\"Sevilla\",\"tags\":[\"a\"]}', '6BA7B810-9DAD-11D1-80B4-00C04FD430C8'),
         (2, NULL, 'not-an-email', '0000-00-00 00:00:00', '{\"city\":null}', NULL),
         (3, 'Zoë   Ødegård', NULL, '2024-10-27 02:30:00', NULL, '00000000-0000-0000-0000-000000000001')",
    );
    dbs.dst("CREATE TABLE people (id INT PRIMARY KEY, name VARCHAR(60) NULL, slug VARCHAR(60) NULL, email VARCHAR(100) NULL, email_hash CHAR(64) NULL, seen_utc DATETIME NULL, city VARCHAR(40) NULL, legacy BINARY(16) NULL, row_id BINARY(16) NOT NULL)");
    let run = dbs.run_code(
        r#"
local text, date, json = require "ferry.text", require "ferry.date", require "ferry.json"
local hash, id = require "ferry.hash", require "ferry.id"
copy {
  from = "people", to = "people",
  transform = function(r)
    local copy = json.decode(json.encode(r))
    assert(copy.id == r.id and copy.legacy == (r.legacy == null and json.null or r.legacy))
    r.name = text.squeeze(text.to_halfwidth(r.name))
    r.slug = text.slug(r.name)
    local email = text.lower(text.trim(r.email))
    if email ~= null and not text.is_email(email) then email = null end
    r.email = email
    r.email_hash = hash.sha256(email)
    r.seen_utc = date.convert(r.seen, "Europe/Madrid", "UTC")
    r.seen = nil
    r.city = json.get(r.attrs, "city")
    r.attrs = nil
    r.legacy = id.uuid_to_binary(r.legacy)
    r.row_id = id.uuid7("binary")
    return r
  end,
}
"#,
        &[],
    );
    run.ok();
    type Row = (
        i32,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let rows: Vec<Row> = dbs
        .dst
        .query("SELECT id, name, slug, email, email_hash, CAST(seen_utc AS CHAR), city, HEX(legacy) FROM people ORDER BY id")
        .unwrap();
    let some = |s: &str| Some(s.to_string());
    assert_eq!(
        rows,
        vec![
            (
                1,
                some("JOSÉ Ñúñez"),
                some("jose-nunez"),
                some("jose@example.com"),
                some("b12dcff163bf9a9349a168651427cf2c1b18b64c209a198f95ef5772881cdc4d"),
                some("2024-03-31 01:30:00"),
                some("Sevilla"),
                some("6BA7B8109DAD11D180B400C04FD430C8"),
            ),
            (2, None, None, None, None, None, None, None),
            (
                3,
                some("Zoë Ødegård"),
                some("zoe-odegard"),
                None,
                None,
                some("2024-10-27 00:30:00"),
                None,
                some("00000000000000000000000000000001"),
            ),
        ]
    );
    let versions: Vec<(i32, String)> = dbs
        .dst
        .query("SELECT id, SUBSTR(HEX(row_id), 13, 1) FROM people ORDER BY id")
        .unwrap();
    assert!(versions.iter().all(|(_, v)| v == "7"), "{versions:?}");
}
