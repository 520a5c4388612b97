//! One side of a comparison: the table the verifier hashes on each server
//! (`db::checksum::HashedTable`), described from the copy's plan and the compared
//! columns: its key, the copy's `where` on the source, the token of each compared
//! column in the common form of the two sides' types.

use super::{Compared, KeyMap};
use crate::db::checksum::{rowtext, Common, Family, HashedTable};
use crate::db::keyset::KeyColumn;
use crate::db::schema::{quote_ident, ColumnInfo};
use crate::plan::CopyPlan;

/// The source table: its paging key, the copy's `where`, each compared column as
/// copied from.
pub(super) fn source(plan: &CopyPlan, cols: &[Compared]) -> HashedTable {
    let key: Vec<usize> = plan.key.clone().unwrap_or_default();
    let tokens: Vec<String> = cols
        .iter()
        .map(|c| match &c.source {
            Some((s, common)) => rowtext::column_token(&s.name, &Family::of(s), *common),
            None => "''".into(),
        })
        .collect();
    let key_tokens = key
        .iter()
        .filter_map(|&k| cols.iter().position(|c| c.carries == Some(k)))
        .map(|i| tokens[i].clone())
        .collect();
    HashedTable {
        table: plan.source.quoted_name(),
        filter: plan.filter.clone(),
        key: key
            .iter()
            .map(|&k| quote_ident(&plan.source.columns[k].name))
            .collect(),
        key_cols: key
            .iter()
            .map(|&k| KeyColumn::new(&plan.source.columns[k]))
            .collect(),
        null_key: false,
        tokens,
        key_tokens,
    }
}

/// The target table: the compared columns that carry the source key (when rows are
/// matched by key), each compared column as stored.
pub(super) fn target(plan: &CopyPlan, cols: &[Compared], keys: Option<&KeyMap>) -> HashedTable {
    let tokens: Vec<String> = cols
        .iter()
        .map(|c| {
            let common = c.source.as_ref().map_or(Common::AsIs, |(_, k)| *k);
            rowtext::column_token(&c.target.name, &c.family, common)
        })
        .collect();
    let key_cols: Vec<&ColumnInfo> = keys
        .map(|k| k.compared.iter().map(|&i| &cols[i].target).collect())
        .unwrap_or_default();
    HashedTable {
        table: plan.target.quoted_name(),
        filter: None,
        key: key_cols.iter().map(|c| quote_ident(&c.name)).collect(),
        key_cols: key_cols.iter().map(|c| KeyColumn::new(c)).collect(),
        null_key: key_cols.iter().any(|c| c.nullable),
        key_tokens: keys
            .map(|k| k.compared.iter().map(|&i| tokens[i].clone()).collect())
            .unwrap_or_default(),
        tokens,
    }
}
