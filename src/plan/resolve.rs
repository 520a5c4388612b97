//! Resolving a `CopySpec` against both tables' schemas: every `map` and `default` entry
//! names a writable target column; every target column gets its value from a `map`
//! entry, a `default`, the source column (or transformed field) of the same name, or
//! the server; the source's paging key; the hazards. Every problem is collected, so a
//! job hears about all of them at once.

use super::hazards::{key_collation_hazards, trigger_hazards};
use super::{CopyPlan, CopySpec, DefaultValue, Fill, MapSource, Mode, PlanProblem, TargetColumn};
use crate::db::schema::{suggest, TableInfo};

/// Checks `spec` against both schemas. Returns the plan, or every problem found.
pub fn resolve(
    spec: &CopySpec,
    source: &TableInfo,
    target: &TableInfo,
) -> Result<CopyPlan, Vec<String>> {
    let mut problems = Vec::new();
    let mut warnings = Vec::new();

    if spec.page == 0 {
        problems.push("page must be at least 1".to_string());
    }
    check_named_columns(spec, target, &mut problems);
    let Columns {
        columns,
        server_filled,
        used_source,
    } = target_columns(spec, source, target, &mut problems);
    if columns.is_empty() && problems.is_empty() {
        problems.push(format!(
            "no target column of {} gets a value: map at least one",
            target.name
        ));
    }

    let key = source.paging_key().map(|k| {
        k.columns
            .iter()
            .filter_map(|c| source.position(c))
            .collect::<Vec<_>>()
    });
    if key.is_none() {
        warnings.push(format!(
            "source table {} has no primary key or NOT NULL unique key: it is read in one \
             pass and cannot be resumed part-way",
            source.name
        ));
    }
    if spec.mode != Mode::Insert && !target.has_unique_key() {
        warnings.push(format!(
            "target table {} has no primary or unique key: mode {} can only insert",
            target.name,
            spec.mode.name()
        ));
    }
    for column in spec.accept.value_columns() {
        if target.column(column).is_none() {
            problems.push(format!(
                "`accept` names column `{column}`, which target table {} does not have{}",
                target.name,
                hint(column, &mut target.columns.iter().map(|c| c.name.as_str()))
            ));
        }
    }
    mask_problems(spec, source, &used_source, &mut problems);
    trigger_hazards(spec, target, &mut problems, &mut warnings);
    key_collation_hazards(spec, &columns, source, target, &mut problems, &mut warnings);
    // Functions may read any column, so "unused" is only known without them.
    let any_function = spec
        .map
        .iter()
        .any(|(_, m)| matches!(m, MapSource::Function { .. }));
    let unused_source = if spec.has_transform || any_function {
        Vec::new()
    } else {
        source
            .columns
            .iter()
            .filter(|c| !used_source.contains(&c.name))
            .map(|c| c.name.clone())
            .collect()
    };

    if !problems.is_empty() {
        return Err(problems);
    }
    let column_map = crate::plan::column_map::ColumnMap::compile(&columns, source, key.as_deref());
    Ok(CopyPlan {
        name: spec.name(),
        location: spec.location.clone(),
        source: source.clone(),
        target: target.clone(),
        mode: spec.mode,
        page: spec.page,
        filter: spec.filter.clone(),
        columns,
        key,
        has_transform: spec.has_transform,
        server_filled,
        unused_source,
        warnings,
        accept: spec.accept.clone(),
        hooks: Vec::new(),
        method: None,
        defer_indexes: None,
        window: None,
        column_map,
    })
}

/// ` (did you mean `x`?)`, or the names there are.
fn hint(name: &str, cands: &mut dyn Iterator<Item = &str>) -> String {
    let v: Vec<&str> = cands.collect();
    match suggest(name, v.iter().copied()) {
        Some(s) => format!(" (did you mean `{s}`?)"),
        None => format!(" (it has: {})", v.join(", ")),
    }
}

/// Every map and default key must be a writable target column.
fn check_named_columns(spec: &CopySpec, target: &TableInfo, problems: &mut Vec<String>) {
    let dst_names = || target.columns.iter().map(|c| c.name.as_str());
    for (col, _) in &spec.map {
        match target.column(col) {
            None => problems.push(format!(
                "map names target column `{col}`, but {}.{} has no such column{}",
                target.database,
                target.name,
                hint(col, &mut dst_names())
            )),
            Some(c) if c.is_generated() => problems.push(format!(
                "map names target column `{col}`, which is generated and cannot be written"
            )),
            _ => {}
        }
    }
    for (col, _) in &spec.defaults {
        match target.column(col) {
            None => problems.push(format!(
                "default names target column `{col}`, but {}.{} has no such column{}",
                target.database,
                target.name,
                hint(col, &mut dst_names())
            )),
            Some(c) if c.is_generated() => problems.push(format!(
                "default names target column `{col}`, which is generated and cannot be written"
            )),
            Some(_) => {
                if spec.map.iter().any(|(m, _)| m == col) {
                    problems.push(format!(
                        "target column `{col}` is both in map and in default; keep one"
                    ));
                }
            }
        }
    }
}

/// Field lookup for a name: a source column, or (with a transform) a field of the
/// transformed sample row. Exact name first, then case-insensitive.
fn lookup(spec: &CopySpec, source: &TableInfo, name: &str, exact_only: bool) -> Option<Fill> {
    if spec.has_transform {
        if let Some(fields) = &spec.sample_fields {
            if fields.iter().any(|f| f == name) {
                return Some(Fill::Field(name.to_string()));
            }
            if !exact_only {
                if let Some(f) = fields
                    .iter()
                    .find(|f| f.to_lowercase() == name.to_lowercase())
                {
                    return Some(Fill::Field(f.clone()));
                }
            }
            return None;
        }
        let c = if exact_only {
            source.column(name)
        } else {
            source.find_column(name)
        };
        return c.map(|c| Fill::Field(c.name.clone()));
    }
    let c = if exact_only {
        source.column(name)
    } else {
        source.find_column(name)
    };
    c.and_then(|c| source.position(&c.name)).map(Fill::Source)
}

/// The target columns written, those left to the server, and the source columns (or
/// fields) read.
struct Columns {
    columns: Vec<TargetColumn>,
    server_filled: Vec<String>,
    used_source: Vec<String>,
}

/// Where every writable target column gets its value: its `map` entry, its `default`,
/// the source column or field of the same name, or the server; a NOT NULL column
/// without any is a problem.
fn target_columns(
    spec: &CopySpec,
    source: &TableInfo,
    target: &TableInfo,
    problems: &mut Vec<String>,
) -> Columns {
    let mut out = Columns {
        columns: Vec::new(),
        server_filled: Vec::new(),
        used_source: Vec::new(),
    };
    for col in &target.columns {
        if col.is_generated() {
            continue;
        }
        if let Some((_, src)) = spec.map.iter().find(|(m, _)| m == &col.name) {
            let mapped = mapped_column(spec, source, &col.name, src, &mut out.used_source);
            match mapped {
                Ok(c) => out.columns.push(c),
                Err(problem) => problems.push(problem.to_string()),
            }
            continue;
        }
        if let Some((_, d)) = spec.defaults.iter().find(|(m, _)| m == &col.name) {
            if !col.nullable && matches!(d, DefaultValue::Value(crate::db::Value::NULL)) {
                problems.push(format!(
                    "target column `{}` ({}) is NOT NULL and its default is null: the \
                     server refuses a NULL there; give it a value or map a source column",
                    col.name, col.column_type
                ));
            }
            out.columns.push(default_column(&col.name, d));
            continue;
        }
        if let Some(fill) = lookup(spec, source, &col.name, false) {
            let field = fill_field_name(&fill, source);
            out.used_source.push(field.clone());
            out.columns.push(TargetColumn {
                name: col.name.clone(),
                origin: if field == col.name {
                    "same name".into()
                } else {
                    format!("{field} (same name, case-insensitive)")
                },
                fill,
                mapped: true,
            });
            continue;
        }
        if col.server_fills() {
            out.server_filled.push(col.name.clone());
        } else {
            problems.push(format!(
                "target column `{}` ({}) is NOT NULL, has no default, and nothing maps it: \
                 add it to map or default",
                col.name, col.column_type
            ));
        }
    }
    out
}

/// The target column `name` filled by its `map` entry, or the problem with the entry.
fn mapped_column(
    spec: &CopySpec,
    source: &TableInfo,
    name: &str,
    src: &MapSource,
    used_source: &mut Vec<String>,
) -> Result<TargetColumn, PlanProblem> {
    let from = match src {
        MapSource::Column(from) => from,
        MapSource::Function { label } => {
            return Ok(TargetColumn {
                name: name.to_string(),
                fill: Fill::Function,
                mapped: true,
                origin: label.clone(),
            })
        }
    };
    let Some(fill) = lookup(spec, source, from, false) else {
        return Err(PlanProblem::NoSuchSource {
            target: name.to_string(),
            from: from.clone(),
            transform_rows: spec.has_transform && spec.sample_fields.is_some(),
            hint: match &spec.sample_fields {
                Some(f) if spec.has_transform => hint(from, &mut f.iter().map(|s| s.as_str())),
                _ => hint(from, &mut source.columns.iter().map(|c| c.name.as_str())),
            },
        });
    };
    used_source.push(fill_field_name(&fill, source));
    Ok(TargetColumn {
        name: name.to_string(),
        origin: from.clone(),
        fill,
        mapped: true,
    })
}

/// The target column `name` filled by its `default` entry.
fn default_column(name: &str, d: &DefaultValue) -> TargetColumn {
    let (fill, origin) = match d {
        DefaultValue::Value(v) => (
            Fill::Value(v.clone()),
            format!(
                "default {}",
                crate::db::value::show(v, crate::db::value::Kind::Bytes)
            ),
        ),
        DefaultValue::Sql(e) => (Fill::Sql(e.clone()), format!("default sql {e}")),
    };
    TargetColumn {
        name: name.to_string(),
        fill,
        mapped: false,
        origin,
    }
}

fn fill_field_name(fill: &Fill, source: &TableInfo) -> String {
    match fill {
        Fill::Source(i) => source.columns[*i].name.clone(),
        Fill::Field(f) => f.clone(),
        _ => String::new(),
    }
}

/// `mask` names columns the row has (the source's, or fields a transform returns);
/// with `mask_strict`, every source column the copy writes is masked or kept.
fn mask_problems(
    spec: &CopySpec,
    source: &TableInfo,
    used_source: &[String],
    problems: &mut Vec<String>,
) {
    let fields = spec.sample_fields.as_deref().unwrap_or_default();
    for (column, _) in &spec.mask {
        if source.column(column).is_none() && !fields.contains(column) {
            problems.push(format!(
                "`mask` names column `{column}`, which source table {} does not have{}",
                source.name,
                hint(column, &mut source.columns.iter().map(|c| c.name.as_str()))
            ));
        }
    }
    if spec.mask_strict {
        let open: Vec<&str> = used_source
            .iter()
            .filter(|c| !spec.mask.iter().any(|(m, _)| m.eq_ignore_ascii_case(c)))
            .map(|c| c.as_str())
            .collect();
        if !open.is_empty() {
            problems.push(format!(
                "mask_strict: source columns written but neither masked nor kept: {}; give \
                 each a rule in `mask` (\"keep\" to copy it as it is)",
                open.join(", ")
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::schema::{ColumnInfo, IndexInfo};
    use crate::db::Value;

    fn col(name: &str, nullable: bool, default: Option<&str>, extra: &str) -> ColumnInfo {
        ColumnInfo {
            nullable,
            default: default.map(str::to_string),
            extra: extra.into(),
            charset: Some("utf8mb4".into()),
            collation: Some("utf8mb4_general_ci".into()),
            ..ColumnInfo::for_test(name, "varchar(10)")
        }
    }

    fn table(name: &str, cols: Vec<ColumnInfo>, key: &[&str]) -> TableInfo {
        let mut t = TableInfo::for_test(name, &[]);
        t.columns = cols;
        if !key.is_empty() {
            t.indexes.push(IndexInfo {
                name: "PRIMARY".into(),
                unique: true,
                columns: key.iter().map(|k| k.to_string()).collect(),
                not_null: true,
            });
        }
        t
    }

    fn spec(map: Vec<(&str, MapSource)>, defaults: Vec<(&str, DefaultValue)>) -> CopySpec {
        CopySpec {
            map: map.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
            defaults: defaults
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            ..CopySpec::new("s", "t", 100, "job.lua:1")
        }
    }

    fn fills(plan: &CopyPlan) -> Vec<(String, String)> {
        plan.columns
            .iter()
            .map(|c| {
                let from = match &c.fill {
                    Fill::Source(i) => format!("source {}", plan.source.columns[*i].name),
                    Fill::Value(v) => format!("value {v:?}"),
                    Fill::Sql(e) => format!("sql {e}"),
                    other => format!("{other:?}"),
                };
                (c.name.clone(), from)
            })
            .collect()
    }

    #[test]
    fn columns_map_by_name_exactly_then_case_insensitively_and_by_map() {
        let source = table(
            "s",
            vec![
                col("id", false, None, ""),
                col("Name", true, None, ""),
                col("mail", true, None, ""),
                col("unused", true, None, ""),
            ],
            &["id"],
        );
        let target = table(
            "t",
            vec![
                col("id", false, None, ""),
                col("name", true, None, ""),
                col("email", true, None, ""),
                col("status", false, None, ""),
                col("created", true, Some("NULL"), ""),
                col("full", true, None, "VIRTUAL GENERATED"),
            ],
            &["id"],
        );
        let plan = resolve(
            &spec(
                vec![("email", MapSource::Column("mail".into()))],
                vec![("status", DefaultValue::Value(Value::from("new")))],
            ),
            &source,
            &target,
        )
        .unwrap();
        assert_eq!(
            fills(&plan),
            [
                ("id".into(), "source id".into()),
                ("name".into(), "source Name".into()),
                ("email".into(), "source mail".into()),
                ("status".into(), format!("value {:?}", Value::from("new"))),
            ]
        );
        assert_eq!(plan.server_filled, ["created"]);
        assert_eq!(plan.unused_source, ["unused"]);
        assert_eq!(plan.key, Some(vec![0]));
        assert_eq!(plan.key_values(&[Value::Int(7)]), vec![Value::Int(7)]);
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let source = table("s", vec![col("id", false, None, "")], &["id"]);
        let target = table(
            "t",
            vec![
                col("id", false, None, ""),
                col("must", false, None, ""),
                col("gen", true, None, "STORED GENERATED"),
            ],
            &["id"],
        );
        let problems = resolve(
            &spec(
                vec![
                    ("nosuch", MapSource::Column("id".into())),
                    ("id", MapSource::Column("missing".into())),
                    ("gen", MapSource::Column("id".into())),
                ],
                vec![],
            ),
            &source,
            &target,
        )
        .unwrap_err();
        let all = problems.join("\n");
        assert!(problems.len() >= 3, "{all}");
        for part in ["nosuch", "missing", "must", "gen"] {
            assert!(all.contains(part), "no problem names `{part}`:\n{all}");
        }
    }

    #[test]
    fn a_null_default_on_a_not_null_column_is_a_problem_before_any_row() {
        let source = table("s", vec![col("id", false, None, "")], &["id"]);
        let target = table(
            "t",
            vec![
                col("id", false, None, ""),
                col("region", false, None, ""),
                col("note", true, None, ""),
            ],
            &["id"],
        );
        let defaults = || {
            vec![
                ("region", DefaultValue::Value(Value::NULL)),
                ("note", DefaultValue::Value(Value::NULL)),
            ]
        };
        let problems = resolve(&spec(vec![], defaults()), &source, &target).unwrap_err();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].contains("`region` (varchar(10)) is NOT NULL and its default is null"),
            "{problems:?}"
        );
        // A value, or sql, is left to the scans and the server.
        let mut ok = defaults();
        ok[0].1 = DefaultValue::Sql("'EU'".into());
        resolve(&spec(vec![], ok), &source, &target).unwrap();
    }

    #[test]
    fn a_keyless_source_is_streamed_with_a_warning() {
        let source = table("s", vec![col("a", true, None, "")], &[]);
        let target = table("t", vec![col("a", true, None, "")], &[]);
        let plan = resolve(&spec(vec![], vec![]), &source, &target).unwrap();
        assert_eq!(plan.key, None);
        assert!(plan
            .warnings
            .iter()
            .any(|w| w.contains("no primary key or NOT NULL unique key")));
    }
}
