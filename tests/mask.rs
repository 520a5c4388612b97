//! `ferry.mask`: every mask keeps the value's shape, passes `null` through, is the same
//! for the same salt and different for another, refuses to run without a salt (at the
//! job's line), and keeps unique columns unique; a masked copy into a target with
//! UNIQUE keys lands every row, and no masked value is a source value.

use crate::support::*;
use mysql::prelude::Queryable;

const PRELUDE: &str = r#"
local function eq(got, want)
  if got ~= want then
    error(string.format("got %q, want %q", tostring(got), tostring(want)), 2)
  end
end
local function shape(s)
  return (s:gsub("%l", "a"):gsub("%u", "A"):gsub("%d", "9"))
end
"#;

#[test]
fn masks_keep_the_shape_and_are_keyed_by_the_salt() {
    let dbs = Dbs::new("mask_fns");
    dbs.run_code(
        &format!(
            "{PRELUDE}{}",
            r#"
local mask = require "ferry.mask"
mask.salt("a salt of the test")
for _, name in ipairs({ "text", "name", "digits", "email", "hash", "keep" }) do
  assert(mask[name](null) == null, name .. "(null)")
  assert(mask[name](nil) == nil, name .. "(nil)")
end
eq(mask.keep_last(null, 4), null)
eq(mask.null("x"), null)
eq(mask.keep("x"), "x")

local e = mask.email("Ann.Lee+news@Acme.co.uk")
eq(shape(e), shape("Ann.Lee+news@Acme.co.uk"))
assert(e:sub(-3) == ".uk" and e ~= "Ann.Lee+news@Acme.co.uk", e)
eq(mask.email("Ann.Lee+news@Acme.co.uk"), e)

local p = mask.digits("+1 (555) 010-9999")
eq(shape(p), shape("+1 (555) 010-9999"))
assert(p ~= "+1 (555) 010-9999")
local n = mask.digits(40123)
assert(math.type(n) == "integer" and n >= 10000 and n <= 99999, tostring(n))
eq(mask.digits(40123), n)
assert(mask.digits(-7) < 0)

local card = mask.keep_last("4111 1111 1111 1234", 4)
eq(card:sub(-5), " 1234")
eq(shape(card), shape("4111 1111 1111 1234"))
eq(mask.keep_last("12", 4), "12")

local name = mask.name("O'Neil 2nd")
eq(shape(name), shape("O'Neil 2nd"))
eq(name:sub(-3, -3), "2")
local cjk = mask.name("张伟")
eq(utf8.len(cjk), 2)
assert(cjk ~= "张伟")
eq(#mask.hash("x"), 16)
eq(#mask.hash("x", 40), 40)
eq(mask.rule("keep_last:2")("abcd"):sub(3), "cd")
eq(mask.rule("email")("a@b.c"), mask.email("a@b.c"))
eq(mask.rule("null")("x"), null)

-- Case: values equal but for case mask alike but for case.
eq(mask.text("McDonald"):lower(), mask.text("mcdonald"):lower())

-- One-to-one: 10,000 four-digit strings give 10,000 values.
local seen, count = {}, 0
for i = 0, 9999 do
  local m = mask.digits(string.format("%04d", i))
  if not seen[m] then seen[m] = true; count = count + 1 end
end
eq(count, 10000)

-- Another salt, other masks.
local before = mask.email("ann@example.com")
mask.salt("another salt, please")
assert(mask.email("ann@example.com") ~= before)
"#
        ),
        &[],
    )
    .ok();
}

#[test]
fn without_a_salt_a_mask_is_refused_at_the_jobs_line() {
    let dbs = Dbs::new("mask_nosalt");
    let job = dbs.job(
        "nosalt.lua",
        "local mask = require \"ferry.mask\"\n\nlocal v = mask.email(\"a@b.c\")\n",
    );
    dbs.run(&job, &[])
        .status(2)
        .says("nosalt.lua:3: ferry.mask.email: no salt");
    let job = dbs.job(
        "badrule.lua",
        "local mask = require \"ferry.mask\"\nlocal f = mask.rule(\"emial\")\n",
    );
    dbs.run(&job, &[])
        .status(2)
        .says("badrule.lua:2: ferry.mask.rule: unknown rule \"emial\"");
}

/// 2,000 users with unique e-mails, phones and names, masked into a target with UNIQUE
/// keys on all three: every row lands, no masked value is its source value, and a
/// second run with the same salt writes the same values.
#[test]
fn a_masked_copy_keeps_unique_keys_and_hides_every_value() {
    let mut dbs = Dbs::new("mask_copy");
    dbs.src("CREATE TABLE users (id INT PRIMARY KEY, email VARCHAR(100) NOT NULL, phone VARCHAR(20) NOT NULL, name VARCHAR(60) NOT NULL, note TEXT NULL)");
    dbs.src(
        "INSERT INTO users SELECT seq, CONCAT('user', seq, '@example.com'), \
         CONCAT('+44 20 7946 ', LPAD(seq, 4, '0')), CONCAT('Name', CHAR(65 + seq % 26), seq), \
         'secret' FROM seq_1_to_2000",
    );
    dbs.dst("CREATE TABLE users (id INT PRIMARY KEY, email VARCHAR(100) NOT NULL UNIQUE, phone VARCHAR(20) NOT NULL UNIQUE, name VARCHAR(60) NOT NULL UNIQUE, note TEXT NULL)");
    let job = r#"
local mask = require "ferry.mask"
mask.salt("the salt of this test")
local rules = { email = mask.rule("email"), phone = mask.rule("keep_last:2"),
  name = mask.rule("name"), note = mask.rule("null") }
copy {
  from = "users", to = "users", mode = "overwrite",
  transform = function(r)
    for col, f in pairs(rules) do r[col] = f(r[col]) end
    return r
  end,
}
"#;
    dbs.run_code(job, &[]).ok();
    assert_eq!(dbs.count_dst("users"), 2000);
    type Row = (i32, String, String, String, Option<String>);
    let read = |dbs: &mut Dbs| -> Vec<Row> {
        dbs.dst
            .query("SELECT id, email, phone, name, note FROM users ORDER BY id")
            .unwrap()
    };
    let first = read(&mut dbs);
    let source: Vec<(i32, String, String, String)> = dbs
        .src
        .query("SELECT id, email, phone, name FROM users ORDER BY id")
        .unwrap();
    for ((id, email, phone, name, note), (_, s_email, s_phone, s_name)) in first.iter().zip(&source)
    {
        assert!(
            email != s_email && name != s_name && phone != s_phone,
            "row {id}"
        );
        assert!(
            email.ends_with(".com") && email.contains('@'),
            "row {id}: {email}"
        );
        assert_eq!(&phone[phone.len() - 2..], &s_phone[s_phone.len() - 2..]);
        assert_eq!(phone.len(), s_phone.len());
        assert_eq!(note, &None);
    }
    dbs.run_code(job, &[]).ok();
    assert_eq!(read(&mut dbs), first, "the same salt, the same masks");
}

/// `copy{ mask = {...} }` with the salt from `job{ mask_salt = ... }`: the rules run
/// after the copy's transform, a rule `keep` lists a column as reviewed, `mask_strict`
/// refuses a written column without a rule, and every mistake is a plan problem
/// (exit 2, nothing written); with `tables`, a mask belongs to one table's options.
#[test]
fn the_mask_option_masks_a_copy_and_refuses_what_it_cannot_do() {
    let mut dbs = Dbs::new("mask_option");
    dbs.src("CREATE TABLE users (id INT PRIMARY KEY, email VARCHAR(100) NOT NULL, phone VARCHAR(20) NOT NULL, note TEXT NULL)")
        .src("INSERT INTO users VALUES (1, 'ann@x.org', '+44 20 7946 0001', 'secret'), (2, 'bob@y.org', '+44 20 7946 0002', NULL)");
    dbs.dst("CREATE TABLE users (id INT PRIMARY KEY, email VARCHAR(100) NOT NULL UNIQUE, phone VARCHAR(20) NOT NULL, note TEXT NULL)");
    let salt = "job { mask_salt = \"a salt of this test\" }\n";
    let refused = |dbs: &mut Dbs, code: &str, says: &str| {
        dbs.run_code(code, &[]).status(2).says(says);
        assert_eq!(dbs.count_dst("users"), 0, "{code}");
    };
    refused(
        &mut dbs,
        "copy { from = 'users', mask = { email = 'email' } }",
        "mask needs a salt",
    );
    refused(
        &mut dbs,
        &format!("{salt}copy {{ from = 'users', mask = {{ email = 'emial' }} }}"),
        "mask.email: unknown rule \"emial\"",
    );
    refused(
        &mut dbs,
        &format!("{salt}copy {{ from = 'users', mask = {{ emal = 'email' }} }}"),
        "`mask` names column `emal`, which source table users does not have (did you mean `email`?)",
    );
    refused(
        &mut dbs,
        &format!(
            "{salt}copy {{ from = 'users', mask = {{ email = 'email', id = 'keep' }}, mask_strict = true }}"
        ),
        "mask_strict: source columns written but neither masked nor kept: phone, note",
    );
    refused(
        &mut dbs,
        &format!("{salt}copy {{ tables = '*', mask = {{ email = 'email' }} }}"),
        "`mask` is not allowed with `tables`",
    );
    dbs.run_code(
        &format!(
            "{salt}copy {{ from = 'users', mask_strict = true, \
             mask = {{ id = 'keep', email = 'email', phone = 'keep_last:4', note = 'null' }}, \
             transform = function(r) r.email = r.email:upper() return r end }}"
        ),
        &[],
    )
    .ok();
    let rows: Vec<(i32, String, String, Option<String>)> = dbs
        .dst
        .query("SELECT id, email, phone, note FROM users ORDER BY id")
        .unwrap();
    assert_eq!(rows.len(), 2);
    for (id, email, phone, note) in &rows {
        assert!(
            email.ends_with(".ORG") && !email.contains("ANN") && !email.contains("BOB"),
            "{id}: {email}"
        );
        assert!(
            phone.ends_with(&format!("000{id}")) && !phone.starts_with("+44 20 7946"),
            "{id}: {phone}"
        );
        assert_eq!(note, &None);
    }
    // The same salt through a table's own options: the same masks.
    dbs.dst("DELETE FROM users");
    dbs.run_code(
        &format!(
            "{salt}copy {{ tables = {{ 'users', users = {{ mask = {{ email = 'email', phone = 'keep_last:4', note = 'null' }}, \
             transform = function(r) r.email = r.email:upper() return r end }} }} }}"
        ),
        &[],
    )
    .ok();
    let again: Vec<(i32, String, String, Option<String>)> = dbs
        .dst
        .query("SELECT id, email, phone, note FROM users ORDER BY id")
        .unwrap();
    assert_eq!(again, rows);
    // And through a mask per table (`mask = { users = {...} }`), `mask_strict` included.
    dbs.dst("DELETE FROM users");
    refused(
        &mut dbs,
        &format!(
            "{salt}copy {{ tables = {{ 'users' }}, mask_strict = true, \
             mask = {{ users = {{ email = 'email' }} }} }}"
        ),
        "mask_strict: source columns written but neither masked nor kept",
    );
    dbs.run_code(
        &format!(
            "{salt}copy {{ tables = {{ 'users', users = {{ \
             transform = function(r) r.email = r.email:upper() return r end }} }}, \
             mask_strict = true, \
             mask = {{ users = {{ id = 'keep', email = 'email', phone = 'keep_last:4', note = 'null' }} }} }}"
        ),
        &[],
    )
    .ok();
    let per_table: Vec<(i32, String, String, Option<String>)> = dbs
        .dst
        .query("SELECT id, email, phone, note FROM users ORDER BY id")
        .unwrap();
    assert_eq!(per_table, rows);
}
