//! `ferry tables URL` and `ferry columns URL TABLE`: what the original web tool's table
//! and field pickers showed, as aligned tables.

use crate::conn_spec::ConnSpec;
use crate::db::schema::did_you_mean;
use crate::db::{Db, Role};
use crate::error::{Error, Result};
use crate::table_fmt::{human_bytes, render};

pub fn tables(spec: &ConnSpec) -> Result<()> {
    let mut db = Db::connect(spec, Role::Source)?;
    let tables = db.tables()?;
    let rows: Vec<Vec<String>> = tables
        .iter()
        .map(|t| vec![t.name.clone(), format!("~{}", t.rows), human_bytes(t.bytes)])
        .collect();
    print!(
        "{}",
        render(&["table", "rows", "size"], &rows, &[false, true, true])
    );
    println!("{} tables in {}", tables.len(), spec);
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
