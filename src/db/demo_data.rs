//! The SQL of `ferry demo`: plain sessions on its throwaway servers (`DemoDb`, without
//! ferry's session setup), the legacy shop's source schema and the new schema on the
//! target, the seed rows' INSERTs, and the counts that check the copy. The demo's
//! story, its generated rows and what it prints stay in `crate::demo`.

use mysql::prelude::Queryable;
use mysql::{Conn, Opts};

use crate::db::fault::Fault;
use crate::db::Value;
use crate::error::{Error, Result};

/// The legacy shop on the source.
const SOURCE_SCHEMA: &[&str] = &[
    "CREATE TABLE customers (
        id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
        name VARCHAR(100) NOT NULL,
        email VARCHAR(200) NULL,
        city VARCHAR(60) CHARACTER SET latin1 NULL,
        is_test TINYINT NOT NULL DEFAULT 0,
        created DATETIME NOT NULL,
        last_login TIMESTAMP(6) NULL DEFAULT NULL,
        balance DECIMAL(12,2) NOT NULL DEFAULT 0
    ) DEFAULT CHARSET=utf8mb4",
    "CREATE TABLE orders (
        id BIGINT NOT NULL PRIMARY KEY,
        customer_id INT UNSIGNED NOT NULL,
        amount DECIMAL(10,2) NOT NULL,
        status ENUM('new','paid','shipped','cancelled') NOT NULL,
        note TEXT NULL,
        ordered_at DATETIME(6) NOT NULL,
        shipped_on DATE NULL,
        KEY (customer_id)
    ) DEFAULT CHARSET=utf8mb4",
];

/// The new schema on the target.
const TARGET_SCHEMA: &[&str] = &[
    "CREATE TABLE clients (
        client_id INT UNSIGNED NOT NULL PRIMARY KEY,
        full_name VARCHAR(100) NOT NULL,
        email VARCHAR(200) NULL,
        city VARCHAR(60) CHARACTER SET latin1 NULL,
        status VARCHAR(20) NOT NULL,
        created DATETIME NOT NULL,
        last_login TIMESTAMP(6) NULL DEFAULT NULL,
        balance DECIMAL(12,2) NOT NULL,
        migrated_at DATETIME NOT NULL,
        note VARCHAR(100) NULL
    ) DEFAULT CHARSET=utf8mb4",
    "CREATE TABLE orders (
        id BIGINT NOT NULL PRIMARY KEY,
        customer_id INT UNSIGNED NOT NULL,
        amount DECIMAL(10,2) NOT NULL,
        status ENUM('new','paid','shipped','cancelled') NOT NULL,
        note TEXT NULL,
        ordered_at DATETIME(6) NOT NULL,
        shipped_on DATE NULL,
        amount_cents BIGINT AS (amount * 100) PERSISTENT,
        KEY (customer_id)
    ) DEFAULT CHARSET=utf8mb4",
];

/// Rows to check a demo run by: on the source what should arrive, on the target what
/// did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShopCounts {
    pub clients: u64,
    pub orders: u64,
    /// Clients whose name has an emoji or starts with 张.
    pub names: u64,
}

/// A plain session on a throwaway server's database.
pub struct DemoDb {
    conn: Conn,
}

impl DemoDb {
    /// Connects to `url` as it is (no time zone, sql_mode or read-only setup).
    pub fn open(url: String) -> Result<DemoDb> {
        let opts = Opts::from_url(&url).map_err(|e| Error::Check {
            message: e.to_string(),
        })?;
        let conn = Conn::new(opts).map_err(|e| Error::Connect {
            url,
            message: e.to_string(),
        })?;
        Ok(DemoDb { conn })
    }

    /// `CREATE DATABASE name CHARACTER SET utf8mb4`.
    pub fn create_database(&mut self, name: &str) -> std::result::Result<(), Fault> {
        Ok(self
            .conn
            .query_drop(format!("CREATE DATABASE {name} CHARACTER SET utf8mb4"))?)
    }

    /// Sets the session's time zone to UTC.
    pub fn set_utc(&mut self) -> std::result::Result<(), Fault> {
        Ok(self.conn.query_drop("SET time_zone = '+00:00'")?)
    }

    /// Creates the legacy shop's tables (`customers`, `orders`) on the source.
    pub fn create_source_schema(&mut self) -> std::result::Result<(), Fault> {
        self.run_all(SOURCE_SCHEMA)
    }

    /// Creates the new schema's tables (`clients`, `orders`) on the target.
    pub fn create_target_schema(&mut self) -> std::result::Result<(), Fault> {
        self.run_all(TARGET_SCHEMA)
    }

    fn run_all(&mut self, statements: &[&str]) -> std::result::Result<(), Fault> {
        for stmt in statements {
            self.conn.query_drop(stmt)?;
        }
        Ok(())
    }

    /// Inserts `rows` rows of `cols` columns into `table`, row `i` from `row(i)`, a
    /// thousand rows a statement.
    pub fn insert_batched(
        &mut self,
        table: &str,
        cols: usize,
        rows: u64,
        mut row: impl FnMut(u64) -> Vec<Value>,
    ) -> std::result::Result<(), Fault> {
        let batch = 1000u64;
        let mut i = 0;
        while i < rows {
            let n = batch.min(rows - i);
            let one = format!("({})", vec!["?"; cols].join(","));
            let sql = format!(
                "INSERT INTO {table} VALUES {}",
                vec![one.as_str(); n as usize].join(",")
            );
            let mut params = Vec::with_capacity(n as usize * cols);
            for j in i..i + n {
                params.extend(row(j));
            }
            self.conn.exec_drop(sql, params)?;
            i += n;
        }
        Ok(())
    }

    /// On the source: the clients, orders and CJK/emoji names the job should copy.
    pub fn expected_counts(&mut self) -> std::result::Result<ShopCounts, Fault> {
        Ok(ShopCounts {
            clients: self.count("SELECT COUNT(*) FROM customers WHERE is_test = 0")?,
            orders: self.count("SELECT COUNT(*) FROM orders WHERE status <> 'cancelled'")?,
            names: self.count(
                "SELECT COUNT(*) FROM customers WHERE is_test = 0 AND (name LIKE '%😀%' OR name LIKE '张%')",
            )?,
        })
    }

    /// On the target: the clients, orders and CJK/emoji names the job copied.
    pub fn copied_counts(&mut self) -> std::result::Result<ShopCounts, Fault> {
        Ok(ShopCounts {
            clients: self.count("SELECT COUNT(*) FROM clients")?,
            orders: self.count("SELECT COUNT(*) FROM orders")?,
            names: self.count(
                "SELECT COUNT(*) FROM clients c WHERE c.full_name LIKE '%😀%' OR c.full_name LIKE '张%'",
            )?,
        })
    }

    fn count(&mut self, sql: &str) -> std::result::Result<u64, Fault> {
        Ok(self.conn.query_first::<u64, _>(sql)?.unwrap_or(0))
    }
}
