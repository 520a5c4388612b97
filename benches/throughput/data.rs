//! The benchmark's tables: their schemas and their rows, generated on the source server
//! itself (`seq_1_to_N` sequence tables, hashes of the row number), so a run of any size
//! starts in seconds and every run holds the same bytes.

use anyhow::{Context, Result};
use mysql::prelude::Queryable;
use mysql::Conn;

/// Rows per generating statement: keeps each transaction (and its undo) modest.
const GEN_CHUNK: u64 = 200_000;

/// Bytes in one BLOB of the memory-check table (4 MiB).
pub const BLOB_BYTES: u64 = 4 << 20;

/// One of the benchmark's tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Table {
    /// The issue's ~383-byte row: every kind of value ferry must carry exactly.
    Wide,
    /// sysbench's `sbtest`: INT id, INT k (indexed), CHAR(120), CHAR(60).
    Sysbench,
    /// A few hundred 4 MiB BLOBs: the memory check (ferry only).
    Blobs,
    /// `sbtest` with a second unique key (`UNIQUE KEY c_u (c)`), copied in upsert mode:
    /// what ferry's check for rows meeting a different row through it costs (a
    /// `SELECT` by key per page; issue 13, item 5). Ferry only, `UNIQUE_ROWS` rows.
    Unique,
    /// The same with a plain `KEY (c)`: one unique key, so no check; the reference.
    UniquePlain,
}

/// Rows of the two unique-key tables at most.
pub const UNIQUE_ROWS: u64 = 200_000;

impl Table {
    pub const ALL: [Table; 5] = [
        Table::Wide,
        Table::Sysbench,
        Table::Blobs,
        Table::Unique,
        Table::UniquePlain,
    ];

    /// Whether this is one of the two tables that measure the unique-key check.
    pub fn is_unique_check(self) -> bool {
        matches!(self, Table::Unique | Table::UniquePlain)
    }

    /// The table's name, on the command line and in both databases.
    pub fn name(self) -> &'static str {
        match self {
            Table::Wide => "wide",
            Table::Sysbench => "sbtest",
            Table::Blobs => "blobs",
            Table::Unique => "uniq",
            Table::UniquePlain => "uniq_plain",
        }
    }

    pub fn parse(s: &str) -> Option<Table> {
        match s {
            "wide" => Some(Table::Wide),
            "sbtest" | "sysbench" => Some(Table::Sysbench),
            "blobs" => Some(Table::Blobs),
            "uniq" => Some(Table::Unique),
            "uniq_plain" => Some(Table::UniquePlain),
            _ => None,
        }
    }

    fn ddl(self) -> &'static str {
        match self {
            Table::Wide => {
                "CREATE TABLE wide (
                    id BIGINT NOT NULL PRIMARY KEY,
                    qty INT NULL,
                    name VARCHAR(100) NOT NULL,
                    amount DECIMAL(12,2) NULL,
                    created DATETIME(6) NOT NULL,
                    touched TIMESTAMP NULL DEFAULT NULL,
                    note TEXT NULL,
                    attrs JSON NULL,
                    raw VARBINARY(64) NULL,
                    status ENUM('new','paid','shipped','cancelled','refunded') NOT NULL
                ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
            }
            Table::Sysbench => {
                "CREATE TABLE sbtest (
                    id INT NOT NULL AUTO_INCREMENT,
                    k INT NOT NULL DEFAULT 0,
                    c CHAR(120) NOT NULL DEFAULT '',
                    pad CHAR(60) NOT NULL DEFAULT '',
                    PRIMARY KEY (id),
                    KEY k_1 (k)
                ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
            }
            Table::Unique => {
                "CREATE TABLE uniq (
                    id INT NOT NULL,
                    k INT NOT NULL DEFAULT 0,
                    c CHAR(120) NOT NULL DEFAULT '',
                    pad CHAR(60) NOT NULL DEFAULT '',
                    PRIMARY KEY (id),
                    UNIQUE KEY c_u (c)
                ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
            }
            Table::UniquePlain => {
                "CREATE TABLE uniq_plain (
                    id INT NOT NULL,
                    k INT NOT NULL DEFAULT 0,
                    c CHAR(120) NOT NULL DEFAULT '',
                    pad CHAR(60) NOT NULL DEFAULT '',
                    PRIMARY KEY (id),
                    KEY c_k (c)
                ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
            }
            Table::Blobs => {
                "CREATE TABLE blobs (
                    id INT NOT NULL PRIMARY KEY,
                    label VARCHAR(40) NOT NULL,
                    data LONGBLOB NOT NULL
                ) ENGINE=InnoDB"
            }
        }
    }

    /// The target table `ferry-check-worst` checks a copy into.
    pub fn narrowed_name(self) -> String {
        format!("{}_chk", self.name())
    }

    /// A target table narrowing every column of this one, so `ferry check` tests each
    /// (range, not_null, charset, scale, fraction, truncate, enum) and groups a unique
    /// key; `None` for the tables `ferry-check-worst` does not run on.
    pub fn narrowed_ddl(self) -> Option<String> {
        let body = match self {
            Table::Wide => {
                "id INT NOT NULL PRIMARY KEY,
                    qty SMALLINT NOT NULL,
                    name VARCHAR(100) CHARACTER SET latin1 NOT NULL,
                    amount DECIMAL(12,1) NULL,
                    created DATETIME NOT NULL,
                    touched DATE NULL,
                    note VARCHAR(200) NULL,
                    attrs TEXT NULL,
                    raw VARBINARY(32) NULL,
                    status ENUM('new','paid','shipped','cancelled') NOT NULL,
                    UNIQUE KEY name_u (name)"
            }
            Table::Sysbench => {
                "id SMALLINT NOT NULL PRIMARY KEY,
                    k SMALLINT NOT NULL,
                    c CHAR(120) CHARACTER SET latin1 NOT NULL,
                    pad VARCHAR(50) NOT NULL,
                    UNIQUE KEY c_u (c)"
            }
            _ => return None,
        };
        Some(format!(
            "CREATE TABLE `{}` ({body}) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
            self.narrowed_name()
        ))
    }

    /// The columns the `ferry-etl` transform changes: (lower-cased, replaced by its
    /// SHA-256 in hex): text columns whose type holds 64 hex digits.
    pub fn etl_columns(self) -> (&'static str, &'static str) {
        match self {
            Table::Wide => ("name", "note"),
            Table::Blobs => ("label", "data"),
            _ => ("pad", "c"),
        }
    }

    /// Columns whose `LENGTH()`s add up to a row's bytes (for MB/s).
    fn columns(self) -> &'static [&'static str] {
        match self {
            Table::Wide => &[
                "id", "qty", "name", "amount", "created", "touched", "note", "attrs", "raw",
                "status",
            ],
            Table::Sysbench | Table::Unique | Table::UniquePlain => &["id", "k", "c", "pad"],
            Table::Blobs => &["id", "label", "data"],
        }
    }

    /// `INSERT ... SELECT` generating rows `from..=to` (of `total`) from a sequence table.
    fn generator(self, from: u64, to: u64, total: u64) -> String {
        match self {
            // NULLs in most columns; CJK, Cyrillic, Arabic and emoji text; raw bytes, a
            // quarter of them ending in 0x0A (what pt-archiver mangles).
            Table::Wide => format!(
                "INSERT INTO wide
                 SELECT seq,
                   IF(seq % 13 = 0, NULL, CAST((seq * 7919) % 1000000 AS SIGNED) - 500000),
                   CONCAT(ELT(1 + seq % 8, '张伟', '王芳', 'Søren 😀', '田中 花子', 'Chloé 🚀',
                              'Иван Петров', 'محمد علي', 'Nguyễn Văn An'),
                          ' ', LEFT(MD5(seq), 8 + seq % 16)),
                   IF(seq % 11 = 0, NULL, ((seq * 104729) % 100000000) / 100),
                   TIMESTAMP'2015-01-01 00:00:00' + INTERVAL (seq * 7654321) % 300000000000000 MICROSECOND,
                   IF(seq % 7 = 0, NULL, FROM_UNIXTIME(1400000000 + (seq * 37) % 600000000)),
                   IF(seq % 10 = 0, NULL,
                      CONCAT('order ', seq, ': ', REPEAT('请在工作日送货 📦 ', 1 + seq % 4),
                             REPEAT(SHA1(seq), 1 + seq % 4))),
                   IF(seq % 17 = 0, NULL,
                      JSON_OBJECT('id', seq, 'sku', CONCAT('SKU-', seq % 10007),
                                  'tags', JSON_ARRAY('a', seq % 5, 'ünïcode'),
                                  'price', (seq % 10000) / 100,
                                  'city', ELT(1 + seq % 4, 'Zürich', '東京', 'São Paulo', 'Köln'))),
                   IF(seq % 9 = 0, NULL,
                      IF(seq % 4 = 0, CONCAT(UNHEX(SHA2(seq, 256)), CHAR(10)), UNHEX(SHA2(seq, 256)))),
                   ELT(1 + seq % 5, 'new', 'paid', 'shipped', 'cancelled', 'refunded')
                 FROM seq_{from}_to_{to}"
            ),
            // sysbench's format: c is ten groups of 11 digits joined by '-', pad five.
            Table::Sysbench => {
                let group = |i: usize| {
                    format!("LPAD(CONV(SUBSTR(h, {}, 9), 16, 10) % 100000000000, 11, '0')", 1 + 9 * i)
                };
                let c: Vec<String> = (0..10).map(group).collect();
                let pad: Vec<String> = (10..14).map(group).collect();
                format!(
                    "INSERT INTO sbtest (id, k, c, pad)
                     SELECT seq, 1 + (seq * 2654435761) % {total},
                       CONCAT_WS('-', {}),
                       CONCAT_WS('-', {}, LPAD(CONV(LEFT(m, 9), 16, 10) % 100000000000, 11, '0'))
                     FROM (SELECT seq, SHA2(seq, 512) AS h, MD5(seq) AS m FROM seq_{from}_to_{to}) AS s",
                    c.join(", "),
                    pad.join(", "),
                )
            }
            // sysbench's rows, c led by the row number so it is unique.
            Table::Unique | Table::UniquePlain => {
                let group = |i: usize| {
                    format!("LPAD(CONV(SUBSTR(h, {}, 9), 16, 10) % 100000000000, 11, '0')", 1 + 9 * i)
                };
                let c: Vec<String> = (0..9).map(group).collect();
                let pad: Vec<String> = (9..13).map(group).collect();
                format!(
                    "INSERT INTO {} (id, k, c, pad)
                     SELECT seq, 1 + (seq * 2654435761) % {total},
                       CONCAT_WS('-', seq, {}),
                       CONCAT_WS('-', {}, LPAD(CONV(LEFT(m, 9), 16, 10) % 100000000000, 11, '0'))
                     FROM (SELECT seq, SHA2(seq, 512) AS h, MD5(seq) AS m FROM seq_{from}_to_{to}) AS s",
                    self.name(),
                    c.join(", "),
                    pad.join(", "),
                )
            }
            Table::Blobs => format!(
                "INSERT INTO blobs
                 SELECT seq, CONCAT('blob ', seq), REPEAT(UNHEX(SHA2(seq, 256)), {})
                 FROM seq_{from}_to_{to}",
                BLOB_BYTES / 32
            ),
        }
    }
}

/// What a generated source table holds; every method's target must match it.
#[derive(Clone, Debug)]
pub struct SourceTable {
    pub table: Table,
    pub rows: u64,
    /// Sum of `LENGTH()` of every value: the bytes MB/s counts.
    pub bytes: u64,
    pub checksum: u64,
    /// `SHOW CREATE TABLE` on the source: every target table is created from it.
    pub create: String,
    /// Its indexes (`indexes`): every target must end with the same.
    pub indexes: Vec<String>,
}

/// Creates `table` in the source connection's database and fills it with `rows` rows.
pub fn generate(src: &mut Conn, table: Table, rows: u64) -> Result<SourceTable> {
    let name = table.name();
    src.query_drop(format!("DROP TABLE IF EXISTS `{name}`"))?;
    src.query_drop(table.ddl())
        .with_context(|| format!("creating {name} on the source"))?;
    let chunk = if table == Table::Blobs { 16 } else { GEN_CHUNK };
    let mut from = 1;
    while from <= rows {
        let to = (from + chunk - 1).min(rows);
        src.query_drop(table.generator(from, to, rows))
            .with_context(|| format!("generating rows {from}..{to} of {name}"))?;
        from = to + 1;
    }
    describe(src, table)
}

/// Reads back a source table's row count, bytes, checksum and definition.
pub fn describe(src: &mut Conn, table: Table) -> Result<SourceTable> {
    let name = table.name();
    let (rows, checksum) = count_and_checksum(src, name)?;
    let lengths: Vec<String> = table
        .columns()
        .iter()
        .map(|c| format!("IFNULL(LENGTH(`{c}`), 0)"))
        .collect();
    let bytes: Option<u64> = src.query_first(format!(
        "SELECT CAST(SUM({}) AS UNSIGNED) FROM `{name}`",
        lengths.join(" + ")
    ))?;
    let create: Option<(String, String)> =
        src.query_first(format!("SHOW CREATE TABLE `{name}`"))?;
    Ok(SourceTable {
        table,
        rows,
        bytes: bytes.unwrap_or(0),
        checksum,
        create: create.context("SHOW CREATE TABLE returned nothing")?.1,
        indexes: indexes(src, name)?,
    })
}

/// A table's indexes, one line per indexed column: name, position, column, uniqueness,
/// prefix length and order. A method that builds indexes after its load (ferry does)
/// must leave the same as the source has.
pub fn indexes(conn: &mut Conn, name: &str) -> Result<Vec<String>> {
    let rows: Vec<mysql::Row> = conn.query(format!("SHOW INDEX FROM `{name}`"))?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let field = |c: &str| -> String {
                match r.get_opt::<Option<String>, _>(c) {
                    Some(Ok(Some(v))) => v,
                    _ => "NULL".into(),
                }
            };
            [
                "Key_name",
                "Seq_in_index",
                "Column_name",
                "Non_unique",
                "Sub_part",
                "Collation",
            ]
            .iter()
            .map(|c| field(c))
            .collect::<Vec<_>>()
            .join(" ")
        })
        .collect())
}

/// `COUNT(*)` and `CHECKSUM TABLE` of a table in the connection's database.
pub fn count_and_checksum(conn: &mut Conn, name: &str) -> Result<(u64, u64)> {
    let rows: Option<u64> = conn.query_first(format!("SELECT COUNT(*) FROM `{name}`"))?;
    let sum: Option<(String, Option<u64>)> =
        conn.query_first(format!("CHECKSUM TABLE `{name}`"))?;
    let checksum = sum
        .and_then(|(_, c)| c)
        .with_context(|| format!("CHECKSUM TABLE {name} returned no checksum"))?;
    Ok((rows.unwrap_or(0), checksum))
}

/// The row count and an order-free digest of `(id, lower, hashed)` of a table, with
/// the `ferry-etl` transform applied in SQL (`LOWER()`, `SHA2(.., 256)`) when `apply`:
/// the source's digest with `apply` must equal the target's without.
pub fn etl_digest(conn: &mut Conn, name: &str, table: Table, apply: bool) -> Result<(u64, u64)> {
    let (lower, hashed) = table.etl_columns();
    let (l, h) = if apply {
        (
            format!("LOWER(`{lower}`)"),
            format!("SHA2(`{hashed}`, 256)"),
        )
    } else {
        (format!("`{lower}`"), format!("`{hashed}`"))
    };
    let row: Option<(u64, Option<u64>)> = conn.query_first(format!(
        "SELECT COUNT(*), BIT_XOR(CRC32(CONCAT_WS(0x1f, id, {l}, {h}))) \
         + SUM(CRC32(CONCAT_WS(0x1f, id, {l}, {h})) % 1000003) FROM `{name}`"
    ))?;
    let (rows, digest) = row.context("no digest")?;
    Ok((rows, digest.unwrap_or(0)))
}
