//! Which source column feeds which target column, compiled once from a copy's plan
//! (`CopyPlan::column_map`). Every path that moves values reads it: a direct copy's
//! processor, the undecoded (raw) path, the Lua fast path for rows a transform leaves
//! alone, and the logic that finds a row's key in its target row.
//!
//! A target value comes from a source column, a field of the row a transform returned
//! (which is a source column's value while the transform leaves that field alone), a
//! `map` function, or a fixed `default`. Target columns filled by raw SQL are not
//! values (they are never statement parameters) and are not in the map.
//! An [`Arrangement`] is the map reduced to source columns and fixed values, as rows
//! cross without running code: for a direct copy, and for a transform's untouched rows.

use crate::db::Value;

use crate::db::schema::TableInfo;
use crate::db::wire::RawSource;
use crate::plan::{Fill, TargetColumn};

/// Where each written target value comes from.
#[derive(Debug, Clone)]
pub struct ColumnMap {
    /// Per target value (`CopyPlan::value_columns`, in order).
    values: Vec<TargetValue>,
    /// The source key columns; `None`: the source is streamed.
    key: Option<Vec<usize>>,
    /// The values as source columns and fixed values, when no value needs code.
    direct: Option<Arrangement>,
    /// The same for a row the transform returned untouched, when no value needs a map
    /// function and every field is a source column's.
    untouched: Option<Arrangement>,
}

/// One target value of a [`ColumnMap`].
#[derive(Debug, Clone, PartialEq)]
pub struct TargetValue {
    /// Index of the target column in `CopyPlan::columns`.
    pub column: usize,
    pub from: ValueFrom,
}

/// Where a target value comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum ValueFrom {
    /// Source column i, as read (no transform).
    Column(usize),
    /// A field of the row the transform returned; `Some(i)`: the field of source
    /// column i (its value as read while the transform leaves it alone).
    Field(String, Option<usize>),
    /// The `map` function of the target column.
    Function,
    /// A fixed value from `default`.
    Value(Value),
}

/// Target values made without running code: each a source column or a fixed value.
#[derive(Debug, Clone, PartialEq)]
pub struct Arrangement {
    /// Per target value.
    pub sources: Vec<RawSource>,
    /// Where each source key column is among the target values (its first use), when
    /// every key column is written as is; `None` too for a keyless source.
    pub key_in_row: Option<Vec<usize>>,
    /// Target value n is source column n, for every n: a source row with as many
    /// columns passes through as the target row.
    pub lines_up: bool,
}

impl ColumnMap {
    /// The map of a plan's target `columns` over `source`, keyed on `key`.
    pub fn compile(
        columns: &[TargetColumn],
        source: &TableInfo,
        key: Option<&[usize]>,
    ) -> ColumnMap {
        let values: Vec<TargetValue> = columns
            .iter()
            .enumerate()
            .filter_map(|(column, c)| {
                let from = match &c.fill {
                    Fill::Source(i) => ValueFrom::Column(*i),
                    Fill::Field(f) => ValueFrom::Field(
                        f.clone(),
                        source.columns.iter().position(|s| &s.name == f),
                    ),
                    Fill::Function => ValueFrom::Function,
                    Fill::Value(v) => ValueFrom::Value(v.clone()),
                    Fill::Sql(_) => return None,
                };
                Some(TargetValue { column, from })
            })
            .collect();
        let key = key.map(<[usize]>::to_vec);
        let arrange = |untouched: bool| -> Option<Arrangement> {
            let sources = values
                .iter()
                .map(|v| match &v.from {
                    ValueFrom::Column(i) => Some(RawSource::Column(*i)),
                    ValueFrom::Field(_, Some(i)) if untouched => Some(RawSource::Column(*i)),
                    ValueFrom::Value(v) => Some(RawSource::Value(v.clone())),
                    _ => None,
                })
                .collect::<Option<Vec<_>>>()?;
            let key_in_row = key.as_ref().and_then(|k| {
                k.iter()
                    .map(|k| {
                        sources
                            .iter()
                            .position(|s| matches!(s, RawSource::Column(c) if c == k))
                    })
                    .collect()
            });
            let lines_up = sources
                .iter()
                .enumerate()
                .all(|(n, s)| matches!(s, RawSource::Column(i) if *i == n));
            Some(Arrangement {
                sources,
                key_in_row,
                lines_up,
            })
        };
        let direct = arrange(false);
        let untouched = arrange(true);
        ColumnMap {
            values,
            key,
            direct,
            untouched,
        }
    }

    /// Every target value, in order.
    pub fn values(&self) -> &[TargetValue] {
        &self.values
    }

    /// The key values of a source row (empty for a keyless source).
    pub fn key_values(&self, row: &[Value]) -> Vec<Value> {
        self.key
            .as_ref()
            .map(|k| k.iter().map(|&i| row[i].clone()).collect())
            .unwrap_or_default()
    }

    /// The target values from source columns and fixed values alone, or `None` when
    /// some value needs code (a transform or a map function).
    pub fn direct(&self) -> Option<&Arrangement> {
        self.direct.as_ref()
    }

    /// The target values of a row a transform returns untouched (every field as read),
    /// or `None` when some value needs a map function (it must see the row) or a
    /// field that is no source column's.
    pub fn untouched(&self) -> Option<&Arrangement> {
        self.untouched.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{resolve, CopyPlan, CopySpec, DefaultValue, MapSource};

    fn table(name: &str, cols: &[&str]) -> TableInfo {
        let mut t = TableInfo::for_test(name, cols);
        t.indexes = vec![crate::db::schema::IndexInfo {
            name: "PRIMARY".into(),
            unique: true,
            columns: vec![cols[0].to_string()],
            not_null: true,
        }];
        t
    }

    fn spec(
        map: Vec<(&str, MapSource)>,
        defaults: Vec<(&str, DefaultValue)>,
        has_transform: bool,
    ) -> CopySpec {
        CopySpec {
            map: map.into_iter().map(|(k, v)| (k.into(), v)).collect(),
            defaults: defaults.into_iter().map(|(k, v)| (k.into(), v)).collect(),
            has_transform,
            ..CopySpec::new("s", "t", 10, "job.lua:1")
        }
    }

    fn plan(spec: &CopySpec, source: &[&str], target: &[&str]) -> CopyPlan {
        resolve(spec, &table("s", source), &table("t", target)).unwrap()
    }

    fn column(name: &str) -> MapSource {
        MapSource::Column(name.into())
    }

    fn froms(map: &ColumnMap) -> Vec<ValueFrom> {
        map.values().iter().map(|v| v.from.clone()).collect()
    }

    #[test]
    fn same_names_line_up_and_carry_their_key() {
        let p = plan(&spec(vec![], vec![], false), &["id", "x"], &["id", "x"]);
        let map = p.column_map();
        assert_eq!(froms(map), vec![ValueFrom::Column(0), ValueFrom::Column(1)]);
        let direct = map.direct().unwrap();
        assert!(direct.lines_up);
        assert_eq!(direct.key_in_row, Some(vec![0]));
        assert_eq!(direct, map.untouched().unwrap());
        let row = [Value::from("k"), Value::from("v")];
        assert_eq!(map.key_values(&row), vec![Value::from("k")]);
        assert_eq!(map.key_values(&row), p.key_values(&row));
    }

    #[test]
    fn renames_reorder_and_find_the_key_where_it_lands() {
        let p = plan(
            &spec(vec![("b", column("id")), ("a", column("x"))], vec![], false),
            &["id", "x"],
            &["a", "b"],
        );
        let map = p.column_map();
        assert_eq!(froms(map), vec![ValueFrom::Column(1), ValueFrom::Column(0)]);
        let direct = map.direct().unwrap();
        assert!(!direct.lines_up);
        assert_eq!(direct.key_in_row, Some(vec![1]));
        assert_eq!(
            direct.sources,
            vec![RawSource::Column(1), RawSource::Column(0)]
        );
    }

    #[test]
    fn a_column_used_twice_is_found_at_its_first_use() {
        let p = plan(
            &spec(
                vec![("a", column("id")), ("b", column("id"))],
                vec![],
                false,
            ),
            &["id", "y"],
            &["a", "b", "y"],
        );
        let direct = p.column_map().direct().unwrap();
        assert_eq!(
            direct.sources,
            vec![
                RawSource::Column(0),
                RawSource::Column(0),
                RawSource::Column(1)
            ]
        );
        assert_eq!(direct.key_in_row, Some(vec![0]));
        assert!(!direct.lines_up);
    }

    #[test]
    fn defaults_are_fixed_values_and_sql_defaults_are_not_values() {
        let p = plan(
            &spec(
                vec![],
                vec![
                    ("v", DefaultValue::Value(Value::from("fixed"))),
                    ("w", DefaultValue::Sql("NOW()".into())),
                ],
                false,
            ),
            &["id"],
            &["id", "v", "w"],
        );
        let map = p.column_map();
        let columns: Vec<usize> = map.values().iter().map(|v| v.column).collect();
        assert_eq!(columns, vec![0, 1]);
        let names: Vec<&str> = p.value_columns().map(|c| c.name.as_str()).collect();
        assert_eq!(names, vec!["id", "v"]);
        let direct = map.direct().unwrap();
        assert_eq!(
            direct.sources,
            vec![RawSource::Column(0), RawSource::Value(Value::from("fixed"))]
        );
        assert_eq!(direct.key_in_row, Some(vec![0]));
    }

    #[test]
    fn a_key_not_written_is_not_in_the_row() {
        let p = plan(&spec(vec![], vec![], false), &["id", "x"], &["x"]);
        let map = p.column_map();
        let direct = map.direct().unwrap();
        assert_eq!(direct.sources, vec![RawSource::Column(1)]);
        assert_eq!(direct.key_in_row, None);
        assert!(!direct.lines_up);
        assert_eq!(
            map.key_values(&[Value::from("k"), Value::from("v")]),
            vec![Value::from("k")]
        );
    }

    #[test]
    fn a_transform_needs_code_but_its_untouched_rows_do_not() {
        let p = plan(&spec(vec![], vec![], true), &["id", "x"], &["id", "x"]);
        let map = p.column_map();
        assert_eq!(
            froms(map),
            vec![
                ValueFrom::Field("id".into(), Some(0)),
                ValueFrom::Field("x".into(), Some(1))
            ]
        );
        assert!(map.direct().is_none());
        let untouched = map.untouched().unwrap();
        assert!(untouched.lines_up);
        assert_eq!(untouched.key_in_row, Some(vec![0]));

        // A field that is no source column's: its value is the transform's.
        let mut made = spec(vec![("x", column("made"))], vec![], true);
        made.sample_fields = Some(vec!["id".into(), "made".into()]);
        let p = plan(&made, &["id", "x"], &["id", "x"]);
        let map = p.column_map();
        assert_eq!(map.values()[1].from, ValueFrom::Field("made".into(), None));
        assert!(map.direct().is_none());
        assert!(map.untouched().is_none());

        // A map function must see the row, touched or not.
        let label = "job.lua:2".to_string();
        let p = plan(
            &spec(vec![("x", MapSource::Function { label })], vec![], false),
            &["id", "x"],
            &["id", "x"],
        );
        let map = p.column_map();
        assert_eq!(map.values()[1].from, ValueFrom::Function);
        assert!(map.direct().is_none());
        assert!(map.untouched().is_none());
    }
}
