//! A chunk's differences: expected and target rows matched by key into missing, extra
//! and changed keys, recorded in the report with the differing columns of the changed
//! rows shown, values printed short.

use std::collections::HashMap;

use super::{Compared, CopyReport, Verifier, SHOWN};
use crate::db::checksum::{render_tokens, Entry, Family, Tokens};
use crate::db::value::{printable, show, Kind};
use crate::db::{Db, Value};
use crate::error::Result;

/// The keys that differ in one chunk.
#[derive(Default)]
pub(super) struct Diff {
    missing: Vec<Entry>,
    extra: Vec<Entry>,
    /// (expected, found)
    changed: Vec<(Entry, Entry)>,
}

/// Matches expected rows and target rows by key. A key found twice in the target
/// counts as extra the second time.
pub(super) fn diff_by_key(expected: Vec<Entry>, found: Vec<Entry>) -> Diff {
    let mut by_key: HashMap<Vec<u8>, usize> = HashMap::with_capacity(expected.len());
    for (i, e) in expected.iter().enumerate() {
        by_key.insert(e.key_text.clone(), i);
    }
    let mut expected: Vec<Option<Entry>> = expected.into_iter().map(Some).collect();
    let mut d = Diff::default();
    for f in found {
        match by_key.get(&f.key_text).and_then(|&i| expected[i].take()) {
            Some(e) if e.hash == f.hash => {}
            Some(e) => d.changed.push((e, f)),
            None => d.extra.push(f),
        }
    }
    d.missing = expected.into_iter().flatten().collect();
    d
}

impl Verifier<'_> {
    /// Adds a chunk's differences to the report, naming the differing columns of the
    /// changed rows shown.
    pub(super) fn record(
        &self,
        src: &mut Db,
        dst: &mut Db,
        produced: Option<&[Vec<Value>]>,
        diff: Diff,
        report: &mut CopyReport,
    ) -> Result<()> {
        for e in &diff.missing {
            report.missing.add(SHOWN, || self.label(&e.key));
        }
        for e in &diff.extra {
            report.extra.add(SHOWN, || self.label(&e.key));
        }
        let room = SHOWN.saturating_sub(report.changed.shown.len());
        let shown = &diff.changed[..room.min(diff.changed.len())];
        let expected: HashMap<Vec<u8>, Tokens> = match produced {
            None => {
                let keys: Vec<&[Value]> = shown.iter().map(|(e, _)| e.key.as_slice()).collect();
                self.src_side.tokens_by_key(src, &keys)?
            }
            Some(rows) => {
                let picked: Vec<Vec<Value>> =
                    shown.iter().map(|(e, _)| rows[e.row].clone()).collect();
                let out = render_tokens(dst, &self.render_columns(), &picked)?;
                shown
                    .iter()
                    .zip(out)
                    .map(|((e, _), t)| (e.key_text.clone(), t))
                    .collect()
            }
        };
        let keys: Vec<&[Value]> = shown.iter().map(|(_, f)| f.key.as_slice()).collect();
        let found = self.dst_side.tokens_by_key(dst, &keys)?;
        for (e, f) in &diff.changed {
            report.changed.add(SHOWN, || {
                let cols = match (expected.get(&e.key_text), found.get(&f.key_text)) {
                    (Some(a), Some(b)) => self.column_changes(a, b),
                    _ => String::new(),
                };
                if cols.is_empty() {
                    self.label(&e.key)
                } else {
                    format!("{}: {cols}", self.label(&e.key))
                }
            });
        }
        Ok(())
    }

    /// `v: 'abc' -> 'abd', n: 1 -> 2` for the columns that differ.
    fn column_changes(&self, a: &[Option<Vec<u8>>], b: &[Option<Vec<u8>>]) -> String {
        self.cols
            .iter()
            .zip(a.iter().zip(b))
            .filter(|(_, (x, y))| x != y)
            .map(|(c, (x, y))| {
                format!(
                    "{}: {} -> {}{}",
                    c.target.name,
                    shown_value(c, x.as_deref()),
                    shown_value(c, y.as_deref()),
                    where_they_differ(x.as_deref(), y.as_deref())
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A compared value for the report: numbers and dates as they print, text quoted,
/// bytes that are not text as hex; long values cut short.
pub(super) fn shown_value(c: &Compared, v: Option<&[u8]>) -> String {
    match v {
        None => "NULL".into(),
        Some(b) => match c.family {
            Family::Text { .. } | Family::Binary { .. } | Family::Other => {
                let text = printable(b);
                if text.starts_with("0x") && std::str::from_utf8(b).is_err() {
                    cut(&text, 66)
                } else {
                    show(&Value::Bytes(b.to_vec()), Kind::Bytes)
                }
            }
            _ => String::from_utf8_lossy(b).into_owned(),
        },
    }
}

/// For long values, where the first differing byte is: ` (bytes differ from byte
/// 5001; 64000 and 64000 bytes)`; nothing for short ones, which show whole.
fn where_they_differ(a: Option<&[u8]>, b: Option<&[u8]>) -> String {
    let (Some(a), Some(b)) = (a, b) else {
        return String::new();
    };
    if a.len().max(b.len()) <= 30 {
        return String::new();
    }
    let at = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    format!(
        " (bytes differ from byte {}; {} and {} bytes)",
        at + 1,
        a.len(),
        b.len()
    )
}

fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(max).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::checksum::RowHash;

    #[test]
    fn long_values_say_where_they_first_differ() {
        let a = vec![7u8; 64];
        let mut b = a.clone();
        b[40] = 8;
        assert_eq!(
            where_they_differ(Some(&a), Some(&b)),
            " (bytes differ from byte 41; 64 and 64 bytes)"
        );
        assert_eq!(where_they_differ(Some(b"ab"), Some(b"ac")), "");
        assert_eq!(where_they_differ(None, Some(&a)), "");
    }

    fn entry(key: i64, hash: u8) -> Entry {
        Entry {
            key: vec![Value::Int(key)],
            key_text: key.to_string().into_bytes(),
            hash: RowHash([hash; 32]),
            row: 0,
        }
    }

    #[test]
    fn diff_by_key_finds_each_kind() {
        let expected = vec![entry(1, 1), entry(2, 2), entry(3, 3)];
        let found = vec![entry(1, 1), entry(2, 9), entry(4, 4), entry(1, 1)];
        let d = diff_by_key(expected, found);
        let keys = |v: &[Entry]| v.iter().map(|e| e.key_text.clone()).collect::<Vec<_>>();
        assert_eq!(keys(&d.missing), vec![b"3".to_vec()]);
        // The second row with key 1 is a duplicate: extra.
        assert_eq!(keys(&d.extra), vec![b"4".to_vec(), b"1".to_vec()]);
        assert_eq!(d.changed.len(), 1);
        assert_eq!(d.changed[0].0.key_text, b"2");
    }
}
