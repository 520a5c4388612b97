//! Writing a page with `LOAD DATA LOCAL INFILE`, streamed from memory: the rows are
//! encoded as tab-separated text (`\N` for NULL, backslash escapes) in a buffer the
//! connection's infile handler hands to the server. `IGNORE` and `REPLACE` give the
//! insert and overwrite modes; upsert has no LOAD DATA form. The file is declared
//! `CHARACTER SET utf8mb4`, the session's character set, in which every string arrives,
//! so latin1 and other columns convert as they would from an INSERT and binary columns
//! take the bytes as they are; YEAR 0 is written `0000` (the text `0` means 2000); floats are
//! written with the shortest text that reads back to the same double (a FLOAT read as
//! f32 is widened first, so it also reads back exactly). BIT and spatial columns take
//! their values in forms text cannot carry, so a copy with such a target column is
//! written with prepared INSERTs instead.

use std::sync::{Arc, Mutex};

use mysql::{LocalInfileHandler, Value};

use crate::db::schema::quote_ident;
use crate::db::value::{to_text, Kind};
use crate::db::write::{Cell, Mode, Target};

/// The LOAD DATA statement of a copy and the encoder of its rows.
pub struct LoadData {
    pub sql: String,
    kinds: Vec<Kind>,
    /// YEAR columns, where the text `0` means 2000 and the number 0 means 0000.
    years: Vec<bool>,
    buffer: Arc<Mutex<Vec<u8>>>,
}

impl LoadData {
    /// `None` when the copy cannot be written with LOAD DATA (upsert; BIT or spatial
    /// target columns).
    pub fn new(target: &Target) -> Option<LoadData> {
        let verb = match target.mode {
            Mode::Insert => "IGNORE",
            Mode::Overwrite => "REPLACE",
            Mode::Upsert => return None,
        };
        let mut cols = Vec::new();
        let mut sets = Vec::new();
        let mut kinds = Vec::new();
        let mut years = Vec::new();
        for c in &target.columns {
            let info = target.table.columns.iter().find(|t| t.name == c.name)?;
            let dt = info.data_type.to_ascii_lowercase();
            if dt == "bit"
                || matches!(
                    dt.as_str(),
                    "geometry"
                        | "point"
                        | "linestring"
                        | "polygon"
                        | "multipoint"
                        | "multilinestring"
                        | "multipolygon"
                        | "geometrycollection"
                )
            {
                return None;
            }
            match &c.cell {
                Cell::Sql(expr) => sets.push(format!("{} = ({expr})", quote_ident(&c.name))),
                Cell::Param => {
                    cols.push(quote_ident(&c.name));
                    kinds.push(info.kind());
                    years.push(dt == "year");
                }
            }
        }
        let mut sql = format!(
            "LOAD DATA LOCAL INFILE 'ferry-page' {verb} INTO TABLE {} CHARACTER SET utf8mb4 \
             FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' ({})",
            target.table.quoted_name(),
            cols.join(", ")
        );
        if !sets.is_empty() {
            sql.push_str(&format!(" SET {}", sets.join(", ")));
        }
        Some(LoadData {
            sql,
            kinds,
            years,
            buffer: Arc::new(Mutex::new(Vec::new())),
        })
    }

    /// Encodes rows (the target's parameter columns) into the buffer the handler sends.
    pub fn encode(&self, rows: &[Vec<Value>]) {
        let mut buf = self.buffer.lock().unwrap_or_else(|e| e.into_inner());
        buf.clear();
        for row in rows {
            for (i, v) in row.iter().enumerate() {
                if i > 0 {
                    buf.push(b'\t');
                }
                match v {
                    Value::Int(0) | Value::UInt(0) if self.years[i] => {
                        buf.extend_from_slice(b"0000")
                    }
                    _ => encode_value(&mut buf, v, self.kinds[i]),
                }
            }
            buf.push(b'\n');
        }
    }

    /// The handler to install on a connection before the statement runs: it sends the
    /// buffer last encoded.
    pub fn handler(&self) -> LocalInfileHandler {
        let buffer = self.buffer.clone();
        LocalInfileHandler::new(move |_, stream| {
            let buf = buffer.lock().unwrap_or_else(|e| e.into_inner());
            std::io::Write::write_all(stream, &buf)
        })
    }
}

fn encode_value(buf: &mut Vec<u8>, v: &Value, kind: Kind) {
    match v {
        Value::NULL => buf.extend_from_slice(b"\\N"),
        Value::Bytes(b) => escape(buf, b),
        Value::Int(i) => buf.extend_from_slice(i.to_string().as_bytes()),
        Value::UInt(u) => buf.extend_from_slice(u.to_string().as_bytes()),
        // Rust prints the shortest decimal that reads back to the same double, and
        // never in exponent form.
        Value::Float(f) => buf.extend_from_slice(format!("{}", *f as f64).as_bytes()),
        Value::Double(d) => buf.extend_from_slice(format!("{d}").as_bytes()),
        other => {
            let text = to_text(other, kind).unwrap_or_default();
            escape(buf, &text)
        }
    }
}

fn escape(buf: &mut Vec<u8>, bytes: &[u8]) {
    for &b in bytes {
        match b {
            b'\\' => buf.extend_from_slice(b"\\\\"),
            b'\t' => buf.extend_from_slice(b"\\t"),
            b'\n' => buf.extend_from_slice(b"\\n"),
            0 => buf.extend_from_slice(b"\\0"),
            _ => buf.push(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_load_data_reads_specially() {
        let mut buf = Vec::new();
        encode_value(
            &mut buf,
            &Value::Bytes(b"a\tb\nc\\d\0e\\N".to_vec()),
            Kind::Bytes,
        );
        assert_eq!(buf, b"a\\tb\\nc\\\\d\\0e\\\\N".to_vec());
        buf.clear();
        encode_value(&mut buf, &Value::NULL, Kind::Bytes);
        assert_eq!(buf, b"\\N".to_vec());
        buf.clear();
        encode_value(&mut buf, &Value::Float(0.1), Kind::Float);
        let back: f64 = std::str::from_utf8(&buf).unwrap().parse().unwrap();
        assert_eq!(back as f32, 0.1f32);
        assert_eq!(back, 0.1f32 as f64);
    }
}
