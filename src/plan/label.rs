//! How a plan names its rows in messages (`id=42`, `#17 (no key)`), their key values,
//! and the fingerprint the job state recognises a copy by on `--resume`.

use crate::db::Value;

use super::{CopyPlan, Fill};
use crate::db::value::{show_key, Kind};

impl CopyPlan {
    /// How a row is named in messages: `id=42`, `(a=1, b='x')`, or for a keyless
    /// source its position in the stream, `#17 (no key)`.
    pub fn row_label(&self, key_values: Option<&[Value]>, ordinal: u64) -> String {
        match (&self.key, key_values) {
            (Some(key), Some(values)) => {
                let names: Vec<String> = key
                    .iter()
                    .map(|&i| self.source.columns[i].name.clone())
                    .collect();
                let kinds: Vec<Kind> = key.iter().map(|&i| self.source.columns[i].kind()).collect();
                show_key(&names, values, &kinds)
            }
            _ => format!("#{ordinal} (no key)"),
        }
    }

    /// The key values of a source row (empty for a keyless source).
    pub fn key_values(&self, row: &[Value]) -> Vec<Value> {
        self.column_map.key_values(row)
    }

    /// What the job state records to recognise this copy on `--resume`: tables, mode,
    /// key, filter and where every target column comes from (not the page size, nor
    /// where in the script the copy or its functions are).
    pub fn fingerprint(&self) -> String {
        let cols: Vec<String> = self
            .columns
            .iter()
            .map(|c| {
                let from = match &c.fill {
                    Fill::Source(i) => format!("source.{}", self.source.columns[*i].name),
                    Fill::Field(f) => format!("field.{f}"),
                    Fill::Function => "function".to_string(),
                    Fill::Value(v) => format!("value {v:?}"),
                    Fill::Sql(e) => format!("sql {e}"),
                };
                format!("{}<-{from}", c.name)
            })
            .collect();
        format!(
            "{}.{} -> {}.{}; mode {}; key ({}); where {}; transform {}; {}",
            self.source.database,
            self.source.name,
            self.target.database,
            self.target.name,
            self.mode.name(),
            self.key_names().join(", "),
            self.filter.as_deref().unwrap_or("-"),
            self.has_transform,
            cols.join(", ")
        )
    }
}
