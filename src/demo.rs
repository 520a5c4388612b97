//! `ferry demo`: starts a source and a target throwaway server, seeds a small "legacy
//! shop" (customers and orders with Chinese and emoji text, NULLs and zero dates),
//! creates the new schema on the target, runs `scripts/demo.lua` (built into the
//! binary) exactly as `ferry run` would, checks the counts, and stops the servers.

use mysql::prelude::Queryable;
use mysql::{Conn, Opts, Value};

use crate::conn_spec::ConnSpec;
use crate::error::{Error, Result};
use crate::run::{run_job, JobSource, RunConfig};
use crate::throwaway::ThrowawayServer;

pub const DEMO_JOB: &str = include_str!("../scripts/demo.lua");

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

const NAMES: &[&str] = &[
    "张伟",
    "王芳",
    "李娜",
    "刘洋",
    "陈静",
    "Ana María",
    "Zoë",
    "Mikkel Ødegård",
    "O'Brien",
    "Søren 😀",
    "田中 花子",
    "Иван",
    "محمد",
    "Chloé 🚀",
    "Łukasz",
    "Nguyễn Văn An",
];
const CITIES: &[&str] = &[
    "Zürich",
    "Malmö",
    "São Paulo",
    "Reykjavík",
    "Köln",
    "Paris",
    "Oslo",
];

/// A tiny deterministic generator, so every demo seeds the same rows.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Seeds `customers` and `orders` (one fifth customers) into the source database.
pub fn seed_legacy_shop(conn: &mut Conn, rows: u64) -> mysql::Result<(u64, u64)> {
    for stmt in SOURCE_SCHEMA {
        conn.query_drop(stmt)?;
    }
    let customers = (rows / 5).max(1);
    let orders = rows.saturating_sub(customers);
    let mut rng = Lcg(42);
    insert_batched(conn, "customers", 8, customers, |i| {
        let id = i + 1;
        let name = format!("{} #{id}", NAMES[rng.below(NAMES.len() as u64) as usize]);
        let email = match rng.below(10) {
            0 => Value::NULL,
            1 => Value::from(format!("  User{id}@Example.COM ")),
            _ => Value::from(format!("user{id}@example.com")),
        };
        let city = if rng.below(8) == 0 {
            Value::NULL
        } else {
            Value::from(CITIES[rng.below(CITIES.len() as u64) as usize])
        };
        let created = if rng.below(50) == 0 {
            Value::Date(0, 0, 0, 0, 0, 0, 0)
        } else {
            Value::Date(
                2010 + rng.below(14) as u16,
                1 + rng.below(12) as u8,
                1 + rng.below(28) as u8,
                rng.below(24) as u8,
                rng.below(60) as u8,
                rng.below(60) as u8,
                0,
            )
        };
        let last_login = if rng.below(4) == 0 {
            Value::NULL
        } else {
            Value::Date(
                2024,
                3,
                31,
                1 + rng.below(2) as u8,
                rng.below(60) as u8,
                rng.below(60) as u8,
                rng.below(1_000_000) as u32,
            )
        };
        vec![
            Value::from(id),
            Value::from(name),
            email,
            city,
            Value::from(u8::from(id % 97 == 0)),
            created,
            last_login,
            Value::from(format!("{}.{:02}", rng.below(100_000), rng.below(100))),
        ]
    })?;
    insert_batched(conn, "orders", 7, orders, |i| {
        let status = ["new", "paid", "shipped", "cancelled"][rng.below(4) as usize];
        let note = match rng.below(5) {
            0 => Value::NULL,
            1 => Value::from(""),
            2 => Value::from("请在工作日送货 📦"),
            _ => Value::from(format!("order note {i}")),
        };
        let shipped = match (status, rng.below(10)) {
            ("shipped", 0) => Value::Date(0, 0, 0, 0, 0, 0, 0),
            ("shipped", _) => Value::Date(
                2024,
                1 + rng.below(12) as u8,
                1 + rng.below(28) as u8,
                0,
                0,
                0,
                0,
            ),
            _ => Value::NULL,
        };
        vec![
            Value::from(i + 1),
            Value::from(1 + rng.below(customers)),
            Value::from(format!("{}.{:02}", rng.below(5000), rng.below(100))),
            Value::from(status),
            note,
            Value::Date(
                2023,
                1 + rng.below(12) as u8,
                1 + rng.below(28) as u8,
                rng.below(24) as u8,
                rng.below(60) as u8,
                rng.below(60) as u8,
                rng.below(1_000_000) as u32,
            ),
            shipped,
        ]
    })?;
    Ok((customers, orders))
}

fn insert_batched(
    conn: &mut Conn,
    table: &str,
    cols: usize,
    rows: u64,
    mut row: impl FnMut(u64) -> Vec<Value>,
) -> mysql::Result<()> {
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
        conn.exec_drop(sql, params)?;
        i += n;
    }
    Ok(())
}

fn connect(server: &ThrowawayServer, db: &str) -> Result<Conn> {
    let url = server.url(db);
    Conn::new(Opts::from_url(&url).map_err(|e| Error::Check {
        message: e.to_string(),
    })?)
    .map_err(|e| Error::Connect {
        url,
        message: e.to_string(),
    })
}

fn check(what: &str, e: mysql::Error) -> Error {
    Error::database(what, e)
}

pub fn run(rows: u64) -> Result<()> {
    eprintln!("starting two throwaway MariaDB servers...");
    let started = std::thread::spawn(|| ThrowawayServer::start("demo-target"));
    let source = ThrowawayServer::start("demo-source").map_err(|e| Error::Check {
        message: format!("{e:#}"),
    })?;
    let target = started
        .join()
        .expect("server start thread")
        .map_err(|e| Error::Check {
            message: format!("{e:#}"),
        })?;
    let mut admin = connect(&source, "mysql")?;
    admin
        .query_drop("CREATE DATABASE legacy CHARACTER SET utf8mb4")
        .map_err(|e| check("creating the source database", e))?;
    let mut src = connect(&source, "legacy")?;
    src.query_drop("SET time_zone = '+00:00'")
        .map_err(|e| check("seeding", e))?;
    eprintln!("seeding the legacy shop with {rows} rows...");
    let (customers, orders) =
        seed_legacy_shop(&mut src, rows).map_err(|e| check("seeding the legacy shop", e))?;
    let mut admin = connect(&target, "mysql")?;
    admin
        .query_drop("CREATE DATABASE shop CHARACTER SET utf8mb4")
        .map_err(|e| check("creating the target database", e))?;
    let mut dst = connect(&target, "shop")?;
    for stmt in TARGET_SCHEMA {
        dst.query_drop(stmt)
            .map_err(|e| check("creating the target schema", e))?;
    }
    eprintln!(
        "source {} ({customers} customers, {orders} orders) -> target {}",
        source.url("legacy"),
        target.url("shop")
    );

    let cfg = RunConfig {
        job: "scripts/demo.lua".into(),
        source: Some(ConnSpec::parse(&source.url("legacy"))?),
        target: Some(ConnSpec::parse(&target.url("shop"))?),
        log: "ferry.log".into(),
        vars: Vec::new(),
        dry_run: false,
        quiet: false,
        flags: Default::default(),
    };
    crate::logging::init(&cfg.log, cfg.quiet)?;
    let job = JobSource {
        name: "scripts/demo.lua".into(),
        dir: None,
        code: DEMO_JOB.as_bytes().to_vec(),
    };
    run_job(&job, &cfg)?;

    // Check the counts against the source.
    let count = |conn: &mut Conn, sql: &str| -> Result<u64> {
        conn.query_first::<u64, _>(sql)
            .map_err(|e| check("checking the demo", e))
            .map(|n| n.unwrap_or(0))
    };
    let want_clients = count(&mut src, "SELECT COUNT(*) FROM customers WHERE is_test = 0")?;
    let got_clients = count(&mut dst, "SELECT COUNT(*) FROM clients")?;
    let want_orders = count(
        &mut src,
        "SELECT COUNT(*) FROM orders WHERE status <> 'cancelled'",
    )?;
    let got_orders = count(&mut dst, "SELECT COUNT(*) FROM orders")?;
    let same_names = count(
        &mut dst,
        "SELECT COUNT(*) FROM clients c WHERE c.full_name LIKE '%😀%' OR c.full_name LIKE '张%'",
    )?;
    let want_names = count(
        &mut src,
        "SELECT COUNT(*) FROM customers WHERE is_test = 0 AND (name LIKE '%😀%' OR name LIKE '张%')",
    )?;
    println!(
        "check: clients {got_clients}/{want_clients}, orders {got_orders}/{want_orders}, \
         CJK/emoji names {same_names}/{want_names}"
    );
    if got_clients != want_clients || got_orders != want_orders || same_names != want_names {
        return Err(Error::Check {
            message: "the demo's target does not match its source".into(),
        });
    }
    println!("demo OK: log in ferry.log; servers stopped");
    Ok(())
}
