//! A page's rows through a `RowProcessor`: decoded rows row by row, and undecoded rows
//! kept undecoded when every one comes back untouched (a transform that only reads or
//! skips), decoded otherwise. A row the processor refuses fails the copy, named by its
//! key and page, or, with `on_error = "reject"`, is set aside with its source row.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::db::Value;

use crate::db::wire::{RawLayout, RawRows, RawSource, WireError};
use crate::error::{Error, Result};

use super::page::{Page, Rows};
use super::pipeline::Shared;
use super::rejects::Reject;
use super::transform::{Processed, RowProcessor, TransformError};

/// What `processor` makes of a page: its target rows, fewer the skipped ones.
pub(super) fn process(
    shared: &Shared,
    processor: &mut dyn RowProcessor,
    mut page: Page,
    out_layout: &mut Option<Arc<RawLayout>>,
) -> Result<Page> {
    match std::mem::replace(&mut page.rows, Rows::Decoded(Vec::new())) {
        Rows::Undecoded(raw) => process_undecoded_page(shared, processor, page, raw, out_layout),
        rows => {
            page.rows = rows;
            process_page(shared, processor, page)
        }
    }
}

/// Turns a page of source rows into target rows with `processor`.
pub(super) fn process_page(
    shared: &Shared,
    processor: &mut dyn RowProcessor,
    mut page: Page,
) -> Result<Page> {
    let page_no = shared.pages_seen.fetch_add(1, Ordering::SeqCst) + 1;
    let rows = match std::mem::replace(&mut page.rows, Rows::Decoded(Vec::new())) {
        Rows::Decoded(rows) => rows,
        // Not met: undecoded pages go to `process_undecoded_page`, or straight to
        // their writer.
        Rows::Undecoded(raw) => raw.decode().map_err(|e| {
            Error::database_caused(format!("copy {}, page {page_no}", shared.plan.name), e)
        })?,
    };
    let columns = processor.page_columns();
    if !columns.is_empty() {
        let values: Vec<Vec<Value>> = rows
            .iter()
            .map(|r| columns.iter().map(|&c| r[c].clone()).collect())
            .collect();
        begin_page(shared, processor, page_no, &values)?;
    }
    let mut out = Vec::with_capacity(rows.len());
    let mut keys = Vec::with_capacity(rows.len());
    let mut skipped = 0;
    // With `on_error = "reject"`, each row's source row is kept for the rejects file.
    let mut sources = match shared.rejects.is_some() {
        true => rows.iter().cloned().map(Some).collect(),
        false => Vec::new(),
    }
    .into_iter();
    let made = processor
        .process_rows(rows, shared.rejects.is_none())
        .map_err(|e| page_failed(shared, page_no, e))?;
    // Per row: what it made, and more rows for this table (a list returned) and rows
    // for others (`emit`).
    for ((made, extra), key) in made.into_iter().zip(std::mem::take(&mut page.keys)) {
        let source = sources.next().flatten();
        let own = match made {
            Ok(Some(values)) => Some(values),
            Ok(None) => {
                skipped += 1;
                None
            }
            Err(e) => {
                match source {
                    Some(source) => page.rejects.push(Reject {
                        key,
                        source,
                        row: None,
                        error: e.to_string(),
                    }),
                    None => return Err(shared.row_error(page_no, &key, e.to_string())),
                }
                continue;
            }
        };
        let origin = page.origins.len();
        let first = out.len();
        for values in own.into_iter().chain(extra.own) {
            out.push(values);
            keys.push(key.clone());
        }
        let made = out.len() - first;
        let emitted = extra.emitted.len();
        page.emitted_keys
            .extend(std::iter::repeat_n(&key, emitted).cloned());
        if let Some(source) = source.filter(|_| made > 0 || emitted > 0) {
            page.origins.push((key, source));
            page.row_origin.extend(std::iter::repeat_n(origin, made));
            page.emitted_origin
                .extend(std::iter::repeat_n(origin, emitted));
        }
        page.emitted.extend(extra.emitted);
    }
    Ok(page.processed(Rows::Decoded(out), keys, skipped))
}

/// A row of an undecoded page, as its processor made it.
enum Kept {
    /// Its source row as read, arranged by the processor's `untouched`.
    Untouched,
    /// The same with these target values (index, value) in place of the row's.
    Patched(Vec<(usize, Value)>),
    /// Its target values.
    Values(Vec<Value>),
}

/// Whether an undecoded page's patched rows can cross undecoded: no row made as values,
/// and every patched value one the request sends as its column's parameter type, in no
/// key column (a row's key is read from its target row), and passing its column's
/// value check (else the page is decoded, and its check names the row).
fn patches_cross(shared: &Shared, layout: &RawLayout, kept: &[(usize, Kept)]) -> bool {
    let Some(key_at) = &shared.rows.key_in_row else {
        return false;
    };
    let fit = shared.fit.as_ref();
    kept.iter().all(|(_, k)| match k {
        Kept::Untouched => true,
        Kept::Values(_) => false,
        Kept::Patched(patches) => patches.iter().all(|(at, v)| {
            layout.patch_fits(*at, v) && !key_at.contains(at) && fit.is_none_or(|f| f.fits(*at, v))
        }),
    })
}

/// Gives `processor` the page's values of its `page_columns` before its rows; a failure
/// there (a lookup's query) fails the page.
fn begin_page(
    shared: &Shared,
    processor: &mut dyn RowProcessor,
    page_no: u64,
    values: &[Vec<Value>],
) -> Result<()> {
    processor
        .begin_page(values)
        .map_err(|e| page_failed(shared, page_no, e))
}

/// The error of a page a processor could not run as a whole (a lookup's query).
fn page_failed(shared: &Shared, page_no: u64, e: TransformError) -> Error {
    match e {
        TransformError::Failed(e) => match e.downcast::<Error>() {
            Ok(e) => *e,
            Err(e) => Error::database(format!("copy {}, page {page_no}", shared.plan.name), e),
        },
        TransformError::Decode(e) => {
            Error::database_caused(format!("copy {}, page {page_no}", shared.plan.name), e)
        }
    }
}

/// Turns an undecoded page of source rows into target rows: still undecoded when every
/// row came back untouched (the common case of a transform that only reads, or skips),
/// as values otherwise.
fn process_undecoded_page(
    shared: &Shared,
    processor: &mut dyn RowProcessor,
    page: Page,
    raw: RawRows,
    out_layout: &mut Option<Arc<RawLayout>>,
) -> Result<Page> {
    let page_no = shared.pages_seen.fetch_add(1, Ordering::SeqCst) + 1;
    let first = page.first_ordinal;
    let broken = |e: WireError| {
        Error::database_caused(format!("copy {}, page {page_no}", shared.plan.name), e)
    };
    let source_row = |i: usize| raw.layout.decode(raw.row(i)).map_err(broken);
    // Row i's key and stream position, from its decoded source values.
    let key_of = |i: usize, row: &[Value]| -> (Vec<Value>, u64) {
        let key = shared
            .rows
            .undecoded_key
            .iter()
            .map(|&j| row[j].clone())
            .collect();
        (key, first + i as u64)
    };
    let n = raw.len();
    let columns = processor.page_columns();
    if !columns.is_empty() {
        let values = (0..n)
            .map(|i| raw.layout.decode_some(raw.row(i), &columns))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(broken)?;
        begin_page(shared, processor, page_no, &values)?;
    }
    let mut kept: Vec<(usize, Kept)> = Vec::with_capacity(n);
    let mut skipped = 0;
    let mut page = page;
    let rows: Vec<&[u8]> = (0..n).map(|i| raw.row(i)).collect();
    let made = processor
        .process_rows_undecoded(&raw.layout, &rows, true)
        .map_err(|e| page_failed(shared, page_no, e))?;
    for (i, (made, extra)) in made.into_iter().enumerate() {
        match made {
            Ok(Processed::Untouched) => kept.push((i, Kept::Untouched)),
            Ok(Processed::Patched(patches)) => kept.push((i, Kept::Patched(patches))),
            Ok(Processed::Row(values)) => kept.push((i, Kept::Values(values))),
            Ok(Processed::Skip) => skipped += 1,
            Err(message) => {
                let key = key_of(i, &source_row(i)?);
                return Err(shared.row_error(page_no, &key, message.to_string()));
            }
        }
        // More rows of this table (decoded: the page then is) and rows for others.
        kept.extend(
            extra
                .own
                .into_iter()
                .map(|values| (i, Kept::Values(values))),
        );
        if !extra.emitted.is_empty() {
            let key = key_of(i, &source_row(i)?);
            page.emitted_keys
                .extend(std::iter::repeat_n(key, extra.emitted.len()));
        }
        page.emitted.extend(extra.emitted);
    }
    let sources = shared
        .rows
        .untouched
        .as_ref()
        .expect("undecoded pages are processed by processors that leave rows untouched");
    let layout = match out_layout {
        Some(l) => l.clone(),
        None => {
            let l = Arc::new(raw.layout.remap(sources).map_err(broken)?);
            *out_layout = Some(l.clone());
            l
        }
    };
    let patched = kept.iter().any(|(_, k)| matches!(k, Kept::Patched(_)));
    let (rows, keys) = if !patched && kept.iter().all(|(_, k)| matches!(k, Kept::Untouched)) {
        let out = if layout.is_identity() && kept.len() == n {
            raw.with_layout(layout)
        } else {
            raw.remapped(kept.iter().map(|(i, _)| *i), &layout)
                .map_err(broken)?
        };
        (Rows::Undecoded(out), Vec::new())
    } else if patched && patches_cross(shared, &layout, &kept) {
        let mut out = RawRows::new(layout.clone());
        for (i, k) in &kept {
            match k {
                Kept::Patched(patches) => layout.push_row_patched(raw.row(*i), patches, &mut out),
                _ => layout.push_row(raw.row(*i), &mut out),
            }
            .map_err(broken)?;
        }
        (Rows::Undecoded(out), Vec::new())
    } else {
        let mut rows = Vec::with_capacity(kept.len());
        let mut keys = Vec::with_capacity(kept.len());
        for (i, k) in kept {
            let src = source_row(i)?;
            keys.push(key_of(i, &src));
            let as_read = || -> Vec<Value> {
                sources
                    .iter()
                    .map(|s| match s {
                        RawSource::Column(c) => src[*c].clone(),
                        RawSource::Value(v) => v.clone(),
                    })
                    .collect()
            };
            rows.push(match k {
                Kept::Values(values) => values,
                Kept::Untouched => as_read(),
                Kept::Patched(patches) => {
                    let mut values = as_read();
                    for (at, v) in patches {
                        values[at] = v;
                    }
                    values
                }
            });
        }
        (Rows::Decoded(rows), keys)
    };
    Ok(page.processed(rows, keys, skipped))
}
