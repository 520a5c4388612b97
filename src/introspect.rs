//! `ferry tables URL` and `ferry columns URL TABLE`: what the original web tool's table
//! and field pickers showed, as aligned tables, with the foreign keys between tables
//! and the order they load in.

use std::collections::{BTreeSet, HashMap};

use crate::conn_spec::ConnSpec;
use crate::db::schema::did_you_mean;
use crate::db::{Db, Role};
use crate::error::{Error, Result};
use crate::plan::order::load_order;
use crate::table_fmt::{human_bytes, render};

/// The tables with their estimated rows and size, the tables each references and its
/// place in the load order (parents first), then the foreign-key cycles and the
/// database's objects that are not tables.
pub fn tables(spec: &ConnSpec) -> Result<()> {
    let mut db = Db::connect(spec, Role::Source)?;
    let tables = db.tables()?;
    let keys = db.foreign_keys()?;
    let names: Vec<String> = tables.iter().map(|t| t.name.clone()).collect();
    let order = load_order(&names, &keys);
    let level: HashMap<&str, usize> = order
        .levels
        .iter()
        .enumerate()
        .flat_map(|(i, l)| l.iter().map(move |t| (t.as_str(), i + 1)))
        .collect();
    let rows: Vec<Vec<String>> = tables
        .iter()
        .map(|t| {
            let parents: BTreeSet<&str> = keys
                .iter()
                .filter(|k| k.table == t.name)
                .map(|k| k.parent.as_str())
                .collect();
            vec![
                t.name.clone(),
                parents.into_iter().collect::<Vec<_>>().join(", "),
                level
                    .get(t.name.as_str())
                    .map(|l| l.to_string())
                    .unwrap_or_default(),
                format!("~{}", t.rows),
                human_bytes(t.bytes),
            ]
        })
        .collect();
    print!(
        "{}",
        render(
            &["table", "references", "load", "rows", "size"],
            &rows,
            &[false, false, true, true, true]
        )
    );
    println!("{} tables in {}", tables.len(), spec);
    for cycle in &order.cycles {
        println!(
            "a cycle of NOT NULL foreign keys: {} (loaded together; their keys can only be \
             added after the data)",
            cycle.join(", ")
        );
    }
    for (table, key) in &order.deferred {
        println!(
            "nullable foreign key {table}.{key} breaks a cycle: {table} loads before the \
             table it references"
        );
    }
    let others = db.other_objects()?;
    if !others.is_empty() {
        let listed: Vec<String> = others
            .iter()
            .map(|o| format!("{} {}", o.kind.to_lowercase(), o.name))
            .collect();
        println!("not tables: {}", listed.join(", "));
    }
    Ok(())
}

pub fn columns(spec: &ConnSpec, table: &str) -> Result<()> {
    let mut db = Db::connect(spec, Role::Source)?;
    let Some(info) = db.table_info(table)? else {
        let tables = db.tables()?;
        let hint = did_you_mean(table, tables.iter().map(|t| t.name.as_str()));
        return Err(Error::usage(format!("no table `{table}` in {spec}{hint}")));
    };
    let rows: Vec<Vec<String>> = info
        .columns
        .iter()
        .map(|c| {
            vec![
                c.name.clone(),
                c.column_type.clone(),
                if c.nullable {
                    "YES".into()
                } else {
                    "NO".into()
                },
                c.default.clone().unwrap_or_default(),
                c.key.clone(),
                c.extra.clone(),
            ]
        })
        .collect();
    print!(
        "{}",
        render(
            &["name", "type", "nullable", "default", "key", "extra"],
            &rows,
            &[false; 6]
        )
    );
    Ok(())
}
