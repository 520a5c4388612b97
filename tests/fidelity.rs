//! Every value survives a copy byte for byte: each type of SPEC.md's fidelity list,
//! through the direct path and through a Lua transform, compared row by row through
//! the binary protocol on both sides.

use crate::support::*;
use mysql::prelude::Queryable;

const ALL_BYTES_HEX: &str = include_str!("all_bytes.hex");

const TYPES_TABLE: &str = "CREATE TABLE types (
    id INT NOT NULL PRIMARY KEY,
    ti TINYINT NULL, tiu TINYINT UNSIGNED NULL,
    si SMALLINT NULL, mi MEDIUMINT NULL, i INT NULL, iu INT UNSIGNED NULL,
    bi BIGINT NULL, biu BIGINT UNSIGNED NULL,
    f FLOAT NULL, d DOUBLE NULL,
    dec65 DECIMAL(65,30) NULL, dec5 DECIMAL(5,2) UNSIGNED NULL,
    dt DATE NULL, dtm DATETIME NULL, dtm6 DATETIME(6) NULL,
    ts TIMESTAMP NULL DEFAULT NULL, ts6 TIMESTAMP(6) NULL DEFAULT NULL,
    tm TIME NULL, tm6 TIME(6) NULL, yr YEAR NULL,
    ch CHAR(10) NULL, vc VARCHAR(50) NULL, lat VARCHAR(50) CHARACTER SET latin1 NULL,
    emoji VARCHAR(50) CHARACTER SET utf8mb4 NULL, txt TEXT NULL,
    bin BINARY(4) NULL, vb VARBINARY(300) NULL, bl BLOB NULL, lb LONGBLOB NULL,
    b1 BIT(1) NULL, b64 BIT(64) NULL,
    j JSON NULL, e ENUM('a','b','ü') NULL, st SET('x','y','z') NULL
) DEFAULT CHARSET=utf8mb4";

fn seed_types(dbs: &mut Dbs) {
    let hex = ALL_BYTES_HEX.trim();
    dbs.src(TYPES_TABLE);
    dbs.src(
        "INSERT INTO types VALUES (1,
        127, 255, 32767, 8388607, 2147483647, 4294967295,
        9223372036854775807, 18446744073709551615,
        3.4028235e38, 1.7976931348623157e308,
        '99999999999999999999999999999999999.999999999999999999999999999999', 999.99,
        '2024-02-29', '9999-12-31 23:59:59', '2024-02-29 13:45:00.123456',
        '2038-01-19 03:14:07', '2024-03-31 01:30:00.654321',
        '838:59:59', '-838:59:59.000000', 2155,
        'ab  ', 'trailing  ', 'Zürich ÿ Ø é', '😀 家 🚀 👩‍👩‍👧', 'line1\nline2\ttab \\\\ back',
        UNHEX('00FF0A0D'), UNHEX('00'), UNHEX('FFFE'), UNHEX('0A'),
        b'1', b'1111111111111111111111111111111111111111111111111111111111111111',
        '{\"a\": [1, 2.50, \"x\"],   \"b\":null}', 'ü', 'x,z')",
    );
    dbs.src(&format!(
        "INSERT INTO types VALUES (2,
        -128, 0, -32768, -8388608, -2147483648, 0,
        -9223372036854775808, 9223372036854775808,
        -1.17549435e-38, 4.9e-324,
        '-99999999999999999999999999999999999.999999999999999999999999999999', 0.01,
        '0000-00-00', '0000-00-00 00:00:00', '1000-01-01 00:00:00.000001',
        '1970-01-01 00:00:01', '2024-10-27 01:30:00.000001',
        '-838:59:59', '-00:00:00.000001', 1901,
        '', '', '', '', '',
        UNHEX('00000000'), UNHEX('{hex}'), UNHEX('{hex}'), REPEAT(UNHEX('{hex}'), 16384),
        b'0', b'0',
        '[]', 'a', '')"
    ));
    dbs.src(
        "INSERT INTO types (id, f, d, dt, dtm6, ts, tm, yr, ch, vc, vb, lb, j) VALUES (3,
        0.1, 0.1, '2024-00-00', '2024-02-30 00:00:00', '0000-00-00 00:00:00',
        '00:00:00', 0, ' x', ' ', '', '', '\"\"')",
    );
    dbs.src("INSERT INTO types (id) VALUES (4)");
    dbs.src(
        "INSERT INTO types (id, f, d, dec65) VALUES (5, 1.0000001, 0.30000000000000004, 0.000000000000000000000000000001)",
    );
}

fn check_types_copy(transform: &str, page: u32) {
    check_types_copy_of(transform, page, None)
}

/// Copies the types table (after `alter`, run on both sides) with `options` and
/// compares both sides value by value and as server-rendered text.
fn check_types_copy_of(transform: &str, page: u32, alter: Option<&str>) {
    let mut dbs = Dbs::new("types");
    // The source must be able to hold zero and invalid dates; the target gets the
    // same table, created in a strict session.
    dbs.src("SET SESSION sql_mode = 'ALLOW_INVALID_DATES'");
    seed_types(&mut dbs);
    dbs.dst("SET SESSION sql_mode = 'STRICT_ALL_TABLES'");
    dbs.dst(TYPES_TABLE);
    if let Some(alter) = alter {
        dbs.src(alter);
        dbs.dst(alter);
    }
    let run = dbs
        .run_code(
            &format!("copy {{ from = 'types', page = {page}, {transform} }}\n"),
            &["--quiet"],
        )
        .ok();
    let src = dbs.dump_src("types", "id");
    let dst = dbs.dump_dst("types", "id");
    assert_eq!(src.len(), 5);
    assert_eq!(src.len(), dst.len(), "{}", run.describe());
    for (s, d) in src.iter().zip(&dst) {
        for (i, (a, b)) in s.iter().zip(d).enumerate() {
            assert_eq!(a, b, "row id {:?}, column #{i} differs", s[0]);
        }
    }
    // And as text, through the server's own rendering of every column.
    let bits = if alter.is_some_and(|a| a.contains("b64")) {
        ""
    } else {
        "HEX(b1), HEX(b64), "
    };
    let cols = format!("CONCAT_WS('|', id, ti, tiu, si, mi, i, iu, bi, biu, HEX(f), d, dec65, dec5, dt, dtm, dtm6, ts, ts6, tm, tm6, yr, HEX(ch), HEX(vc), HEX(lat), HEX(emoji), HEX(txt), HEX(bin), HEX(vb), MD5(bl), MD5(lb), LENGTH(lb), {bits}HEX(j), e, st, ISNULL(vc))");
    let q = format!("SELECT {cols} FROM types ORDER BY id");
    use mysql::prelude::Queryable;
    let a: Vec<String> = dbs.src.query(&q).unwrap();
    let b: Vec<String> = dbs.dst.query(&q).unwrap();
    assert_eq!(a, b);
}

/// The types table's columns rendered as text by the server, by name (so tables with
/// the columns in another order compare), for the rows `filter` picks.
fn rendered(conn: &mut mysql::Conn, filter: &str) -> Vec<String> {
    let cols = "CONCAT_WS('|', id, ti, tiu, si, mi, i, iu, bi, biu, HEX(f), d, dec65, dec5, dt, dtm, dtm6, ts, ts6, tm, tm6, yr, HEX(ch), HEX(vc), HEX(lat), HEX(emoji), HEX(txt), HEX(bin), HEX(vb), MD5(bl), MD5(lb), LENGTH(lb), HEX(b1), HEX(b64), HEX(j), e, st, ISNULL(vc))";
    conn.query(format!(
        "SELECT {cols} FROM types WHERE {filter} ORDER BY id"
    ))
    .unwrap()
}

#[test]
fn every_type_round_trips_when_a_transform_passes_sets_and_skips_rows() {
    // Rows a transform returns untouched cross undecoded; a page where it set a field
    // goes as values; skipped rows are left out. Into a target whose columns are in
    // another order, with one more column filled by a default, on pages of one row
    // (each page all untouched, all set or all skipped) and of the whole table (mixed).
    for page in [1, 1000] {
        let mut dbs = Dbs::new(&format!("mixed{page}"));
        dbs.src("SET SESSION sql_mode = 'ALLOW_INVALID_DATES'");
        seed_types(&mut dbs);
        dbs.dst("SET SESSION sql_mode = 'STRICT_ALL_TABLES'");
        dbs.dst(TYPES_TABLE);
        dbs.dst(
            "ALTER TABLE types MODIFY id INT NOT NULL AFTER st, MODIFY j JSON NULL FIRST, \
             MODIFY lb LONGBLOB NULL AFTER ti, ADD COLUMN extra VARCHAR(20) NOT NULL AFTER tm",
        );
        let run = dbs
            .run_code(
                &format!(
                    "copy {{ from = 'types', page = {page}, default = {{ extra = 'fixed ü' }},
                       transform = function(r)
                         if r.id == 4 then return nil end
                         if r.id == 2 then r.vc = 'changed' end
                         return r
                       end }}\n"
                ),
                &["--quiet"],
            )
            .ok();
        assert!(
            dbs.log().contains("rows cross undecoded"),
            "{}",
            run.describe()
        );
        let untouched = "id IN (1, 3, 5)";
        assert_eq!(
            rendered(&mut dbs.src, untouched),
            rendered(&mut dbs.dst, untouched),
            "page {page}"
        );
        assert_eq!(dbs.count_dst("types"), 4, "page {page}: id 4 skipped");
        let extra: Vec<String> = dbs.dst.query("SELECT DISTINCT extra FROM types").unwrap();
        assert_eq!(extra, vec!["fixed ü".to_string()]);
        // Row 2: every value as read but the one the transform set.
        dbs.src("UPDATE types SET vc = 'changed' WHERE id = 2");
        assert_eq!(
            rendered(&mut dbs.src, "id = 2"),
            rendered(&mut dbs.dst, "id = 2"),
            "page {page}"
        );
    }
}

#[test]
fn every_type_round_trips_directly() {
    check_types_copy("", 1000);
}

#[test]
fn every_type_round_trips_through_load_data() {
    // LOAD DATA cannot carry BIT values: with BIT columns the copy falls back to
    // prepared INSERTs; without them every other type goes through LOAD DATA, in
    // both of its modes, on one page and on pages of one row.
    check_types_copy("write = 'load'", 1000);
    let no_bits = Some("ALTER TABLE types DROP COLUMN b1, DROP COLUMN b64");
    check_types_copy_of("write = 'load'", 1000, no_bits);
    check_types_copy_of("write = 'load', mode = 'overwrite'", 1, no_bits);
}

#[test]
fn every_type_round_trips_through_a_transform() {
    check_types_copy("transform = function(r) return r end", 2);
}

#[test]
fn every_type_round_trips_through_lua_values() {
    // A transform that rebuilds the row from Lua values (new strings, numbers): the
    // conversions of SPEC.md must carry every value exactly.
    check_types_copy(
        "transform = function(r)
            local out = {}
            for k, v in pairs(r) do
              if type(v) == 'string' then out[k] = v .. '' else out[k] = v end
            end
            return out
          end",
        1,
    );
}

#[test]
fn lua_sees_values_as_spec_says() {
    let mut dbs = Dbs::new("luaview");
    dbs.src("SET SESSION sql_mode = ''");
    seed_types(&mut dbs);
    dbs.dst("CREATE TABLE seen (id INT PRIMARY KEY, what TEXT)");
    dbs.run_code(
        r#"
copy { from = "types", to = "seen", map = map { what = function(r)
  local parts = {}
  for _, k in ipairs { "biu", "bi", "dec65", "dtm6", "dt", "tm", "tm6", "ts", "f", "d", "yr", "vc" } do
    local v, s = r[k], nil
    if math.type(v) then
      s = k .. ":" .. math.type(v) .. ":" .. tostring(v)
    elseif v == null then
      s = k .. ":userdata:null"
    else
      s = k .. ":" .. type(v) .. ":" .. v
    end
    parts[#parts + 1] = s
  end
  return table.concat(parts, " ")
end } }
"#,
        &["--quiet"],
    )
    .ok();
    use mysql::prelude::Queryable;
    let rows: Vec<(i32, String)> = dbs
        .dst
        .query("SELECT id, what FROM seen ORDER BY id")
        .unwrap();
    let row1 = &rows[0].1;
    for want in [
        "biu:string:18446744073709551615",
        "bi:integer:9223372036854775807",
        "dec65:string:99999999999999999999999999999999999.999999999999999999999999999999",
        "dtm6:string:2024-02-29 13:45:00.123456",
        "dt:string:2024-02-29",
        "tm:string:838:59:59",
        "tm6:string:-838:59:59.000000",
        "ts:string:2038-01-19 03:14:07",
        "yr:integer:2155",
        "vc:string:trailing  ",
        "d:float:1.7976931348623e+308",
    ] {
        assert!(row1.contains(want), "{want} not in {row1}");
    }
    let row2 = &rows[1].1;
    for want in [
        "dt:string:0000-00-00",
        "tm:string:-838:59:59",
        "biu:string:9223372036854775808",
    ] {
        assert!(row2.contains(want), "{want} not in {row2}");
    }
    assert!(rows[3].1.contains("vc:userdata:null"), "{}", rows[3].1);
    assert!(rows[2].1.contains("vc:string: "), "{}", rows[2].1);
}

#[test]
fn keys_of_every_shape() {
    let mut dbs = Dbs::new("keys");
    // Composite key, reserved words and unicode identifiers, a unique key instead of a
    // primary key, no key at all, generated columns on both sides.
    for (sql, on_target) in [
        ("CREATE TABLE `order` (`select` INT NOT NULL, `from` VARCHAR(20) NOT NULL, `名前` VARCHAR(20) NULL, PRIMARY KEY (`select`, `from`))", true),
        ("CREATE TABLE ukey (code VARCHAR(10) NOT NULL, n INT, UNIQUE KEY (code))", true),
        ("CREATE TABLE nokey (a INT NULL, b VARCHAR(10) NULL)", true),
        ("CREATE TABLE gen (id INT PRIMARY KEY, price DECIMAL(8,2), qty INT, total DECIMAL(12,2) AS (price*qty) VIRTUAL)", false),
    ] {
        dbs.src(sql);
        if on_target {
            dbs.dst(sql);
        }
    }
    dbs.dst("CREATE TABLE gen (id INT PRIMARY KEY, price DECIMAL(8,2), qty INT, total DECIMAL(12,2) AS (price*qty) PERSISTENT, twice INT AS (qty*2) VIRTUAL)");
    for i in 0..23 {
        dbs.src(&format!(
            "INSERT INTO `order` VALUES ({}, 'k{}', '名前{}')",
            i % 5,
            i,
            i
        ));
        dbs.src(&format!("INSERT INTO ukey VALUES ('c{i:02}', {i})"));
        dbs.src(&format!("INSERT INTO nokey VALUES ({}, 'v{}')", i % 3, i));
        dbs.src(&format!(
            "INSERT INTO gen (id, price, qty) VALUES ({i}, {i}.25, {i})"
        ));
    }
    dbs.src("INSERT INTO nokey VALUES (NULL, NULL), (1, 'v1')");
    let run = dbs
        .run_code(
            r#"
copy { from = "order", page = 4 }
copy { from = "ukey", page = 5 }
copy { from = "nokey", page = 6 }
copy { from = "gen", page = 7 }
"#,
            &[],
        )
        .ok()
        .says("nokey has no primary key or NOT NULL unique key");
    let _ = run;
    for (t, order) in [
        ("`order`", "`select`, `from`"),
        ("ukey", "code"),
        ("nokey", "a, b"),
        ("gen", "id"),
    ] {
        // The target's gen has one more generated column; compare the shared ones.
        let dst: Vec<Vec<mysql::Value>> = dbs
            .dump_dst(t, order)
            .into_iter()
            .map(|mut r| {
                r.truncate(if t == "gen" { 4 } else { r.len() });
                r
            })
            .collect();
        assert_eq!(dbs.dump_src(t, order), dst, "table {t}");
    }
    assert_eq!(dbs.count_dst("nokey"), 25);
}

#[test]
fn identical_targets_for_page_sizes_1_7_and_5000() {
    let mut results = Vec::new();
    for page in [1, 7, 5000] {
        let mut dbs = Dbs::new("pages");
        dbs.src(
            "CREATE TABLE t (a INT NOT NULL, b VARCHAR(8) NOT NULL, v TEXT, PRIMARY KEY (a, b))",
        );
        dbs.dst(
            "CREATE TABLE t (a INT NOT NULL, b VARCHAR(8) NOT NULL, v TEXT, PRIMARY KEY (a, b))",
        );
        dbs.src("INSERT INTO t SELECT seq DIV 10, CONCAT('b', seq MOD 10), REPEAT('x', seq MOD 17) FROM seq_1_to_1000");
        let run = dbs
            .run_code(
                &format!("local s = copy {{ from = 't', page = {page}, where = 'a <> 50' }}\nif not planning then assert(s.read == 990 and s.written == 990, s.read) end\n"),
                &["--quiet"],
            )
            .ok();
        assert!(run.stdout.contains("990"), "{}", run.describe());
        results.push(dbs.dump_dst("t", "a, b"));
        // One log line per page.
        let pages = dbs.log().matches(": page ").count();
        assert_eq!(pages, 990usize.div_ceil(page), "page lines in the log");
    }
    assert_eq!(results[0].len(), 990);
    assert_eq!(results[0], results[1]);
    assert_eq!(results[1], results[2]);
}

/// Text crosses character sets in both directions: latin1, utf8mb3, gbk and ENUM
/// columns on one side, utf8mb4 on the other (strings reach a writing session as
/// binary strings, converted only where the column is not utf8mb4), and a SQL default's
/// literal lands in a latin1 column as text.
#[test]
fn text_crosses_character_sets_both_ways() {
    let mut dbs = Dbs::new("charsets");
    dbs.src(
        "CREATE TABLE c (id INT PRIMARY KEY, a VARCHAR(40) CHARACTER SET latin1, \
         b VARCHAR(40) CHARACTER SET utf8mb4, e ENUM('é','ü') CHARACTER SET latin1, \
         u VARCHAR(40) CHARACTER SET utf8mb4, m VARCHAR(40) CHARACTER SET utf8mb3, \
         raw VARBINARY(40)) DEFAULT CHARSET=utf8mb4",
    );
    dbs.src(
        "INSERT INTO c VALUES (1, 'Zürich é ÿ', 'Søren Ø', 'é', '家 中文', 'Ærø', UNHEX('C3A9')), \
         (2, '', '', 'ü', '', '', ''), (3, NULL, NULL, NULL, NULL, NULL, NULL)",
    );
    dbs.dst(
        "CREATE TABLE c (id INT PRIMARY KEY, a VARCHAR(40) CHARACTER SET utf8mb4, \
         b VARCHAR(40) CHARACTER SET latin1, e ENUM('é','ü') CHARACTER SET utf8mb4, \
         u VARCHAR(40) CHARACTER SET gbk, m VARCHAR(40) CHARACTER SET latin1, \
         raw VARCHAR(40) CHARACTER SET utf8mb4, note VARCHAR(40) CHARACTER SET latin1 NOT NULL) \
         DEFAULT CHARSET=utf8mb4",
    );
    dbs.run_code(
        "copy { from = 'c', default = { note = sql \"CONCAT('café ', 'Ø')\" } }",
        &["--no-check", "--quiet"],
    )
    .ok();
    let hex = |c: &str| format!("IFNULL(HEX(CONVERT({c} USING utf8mb4)), 'NULL')");
    let cols: Vec<String> = ["a", "b", "e", "u", "m", "raw"]
        .iter()
        .map(|c| hex(c))
        .collect();
    let text = format!(
        "SELECT CONCAT_WS('|', id, {}) FROM c ORDER BY id",
        cols.join(", ")
    );
    let src: Vec<String> = dbs.src.query(&text).unwrap();
    let dst: Vec<String> = dbs.dst.query(&text).unwrap();
    assert_eq!(src.len(), 3);
    assert_eq!(src, dst);
    // The literal arrived as text, converted into latin1 (é and Ø are one byte each).
    let notes: Vec<String> = dbs.dst.query("SELECT HEX(note) FROM c").unwrap();
    assert_eq!(notes, vec!["636166E920D8"; 3]);

    // Without SQL defaults (the binary-string session), a character latin1 has no
    // place for still fails the page, naming the row and the column.
    dbs.dst("DELETE FROM c");
    dbs.dst("ALTER TABLE c DROP COLUMN note");
    dbs.src("UPDATE c SET b = 'Søren 家' WHERE id = 1");
    dbs.run_code("copy { from = 'c' }", &["--no-check"])
        .status(1)
        .says("row id=1")
        .says("`c`.`b`");
    assert_eq!(dbs.count_dst("c"), 0);
}

/// Value defaults and upserts reach latin1 columns as text too (binary-string
/// sessions give such columns their values through CONVERT).
#[test]
fn defaults_and_upserts_cross_character_sets() {
    let mut dbs = Dbs::new("charsets_upsert");
    dbs.src("CREATE TABLE u (id INT PRIMARY KEY, name VARCHAR(40)) DEFAULT CHARSET=utf8mb4");
    dbs.src("INSERT INTO u VALUES (1, 'Zoë'), (2, 'Ærø')");
    dbs.dst(
        "CREATE TABLE u (id INT PRIMARY KEY, name VARCHAR(40) CHARACTER SET latin1, \
         note VARCHAR(40) CHARACTER SET latin1 NOT NULL) DEFAULT CHARSET=utf8mb4",
    );
    dbs.dst("INSERT INTO u VALUES (1, 'old', 'old')");
    dbs.run_code(
        "copy { from = 'u', mode = 'upsert', default = { note = 'café Ø' } }",
        &["--quiet"],
    )
    .ok();
    let rows: Vec<String> = dbs
        .dst
        .query("SELECT CONCAT_WS('|', id, HEX(name), HEX(note)) FROM u ORDER BY id")
        .unwrap();
    // latin1: ë = EB, Æ = C6, ø = F8, é = E9, Ø = D8. An upsert updates mapped
    // columns only: row 1 keeps its note, row 2 is new and takes the default.
    assert_eq!(rows, vec!["1|5A6FEB|6F6C64", "2|C672F8|636166E920D8"]);
}
