//! `ferry demo`: starts a source and a target throwaway server, seeds a small "legacy
//! shop" (customers and orders with Chinese and emoji text, NULLs and zero dates),
//! creates the new schema on the target, runs `scripts/demo.lua` (built into the
//! binary) exactly as `ferry run` would, checks the counts, and stops the servers.

use crate::conn_spec::ConnSpec;
use crate::db::demo_data::DemoDb;
use crate::db::{Fault, Value};
use crate::error::{Error, Result};
use crate::run::{run_job, JobSource, RunConfig};
use crate::throwaway::ThrowawayServer;

pub const DEMO_JOB: &str = include_str!("../scripts/demo.lua");

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
pub fn seed_legacy_shop(db: &mut DemoDb, rows: u64) -> std::result::Result<(u64, u64), Fault> {
    db.create_source_schema()?;
    let customers = (rows / 5).max(1);
    let orders = rows.saturating_sub(customers);
    let mut rng = Lcg(42);
    db.insert_batched("customers", 8, customers, |i| {
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
    db.insert_batched("orders", 7, orders, |i| {
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

fn check(what: &str, e: Fault) -> Error {
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
    let mut admin = DemoDb::open(source.url("mysql"))?;
    admin
        .create_database("legacy")
        .map_err(|e| check("creating the source database", e))?;
    let mut src = DemoDb::open(source.url("legacy"))?;
    src.set_utc().map_err(|e| check("seeding", e))?;
    eprintln!("seeding the legacy shop with {rows} rows...");
    let (customers, orders) =
        seed_legacy_shop(&mut src, rows).map_err(|e| check("seeding the legacy shop", e))?;
    let mut admin = DemoDb::open(target.url("mysql"))?;
    admin
        .create_database("shop")
        .map_err(|e| check("creating the target database", e))?;
    let mut dst = DemoDb::open(target.url("shop"))?;
    dst.create_target_schema()
        .map_err(|e| check("creating the target schema", e))?;
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
        replay: None,
        control: None,
    };
    crate::logging::init(&cfg.log, cfg.quiet)?;
    let job = JobSource {
        name: "scripts/demo.lua".into(),
        dir: None,
        code: DEMO_JOB.as_bytes().to_vec(),
    };
    run_job(&job, &cfg)?;

    // Check the counts against the source.
    let want = src
        .expected_counts()
        .map_err(|e| check("checking the demo", e))?;
    let got = dst
        .copied_counts()
        .map_err(|e| check("checking the demo", e))?;
    println!(
        "check: clients {}/{}, orders {}/{}, CJK/emoji names {}/{}",
        got.clients, want.clients, got.orders, want.orders, got.names, want.names
    );
    if got != want {
        return Err(Error::Check {
            message: "the demo's target does not match its source".into(),
        });
    }
    println!("demo OK: log in ferry.log; servers stopped");
    Ok(())
}
