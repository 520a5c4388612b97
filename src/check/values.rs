//! `ferry check`'s values: which column pairs need a test (`policy`), one aggregate
//! query over the source that counts them all (the largest row against the target's
//! `max_allowed_packet` in the same pass), the first rows of each hazard found, JSON
//! columns on either side, and DOUBLE values a FLOAT would print as another number
//! (counted exactly from the pass's candidates).

use super::environment::{packet_fix, packet_probe, Sides};
use super::policy::{self, Planned};
use super::report::{CopyCheck, Example, Hazard};
use super::EXAMPLES;
use crate::db::hazards::{Probe, Test};
use crate::db::schema::ColumnInfo;
use crate::db::value::{show, survives_f32};
use crate::db::{Db, Value};
use crate::error::Result;
use crate::plan::{CopyPlan, Fill};

/// One copy's scan: which column pairs need a test, one count query for them all, and
/// the example rows of each hazard found.
pub(super) fn check(src: &mut Db, dst: &mut Db, env: &Sides, plan: &CopyPlan) -> Result<CopyCheck> {
    let server = policy::Server {
        version: env.target.version.clone(),
    };
    let mut out = CopyCheck {
        copy: plan.name.clone(),
        location: plan.location.clone(),
        source: format!("{}.{}", plan.source.database, plan.source.name),
        target: format!("{}.{}", plan.target.database, plan.target.name),
        queries: 0,
        target_queries: 0,
        hazards: Vec::new(),
        notes: Vec::new(),
    };
    if let Some(window) = &plan.window {
        out.notes.push(format!(
            "incremental: only the rows past the stored mark are scanned ({window}), those \
             the run reads"
        ));
    }
    let target_json = dst.json_columns(&plan.target)?;
    out.target_queries += 1;
    let source_json = if target_json.is_empty()
        && !plan
            .source
            .columns
            .iter()
            .any(|c| c.data_type.eq_ignore_ascii_case("json"))
    {
        Vec::new()
    } else {
        src.json_columns(&plan.source)?
    };
    let mut probes = Vec::new();
    let mut planned: Vec<(String, &ColumnInfo, &ColumnInfo, Planned)> = Vec::new();
    let (mut by_function, mut by_transform) = (Vec::new(), Vec::new());
    for c in &plan.columns {
        let Some(target) = plan.target.column(&c.name) else {
            continue;
        };
        match &c.fill {
            Fill::Source(i) => {
                let source = &plan.source.columns[*i];
                let mut checks = policy::column_checks(&server, source, target);
                match (
                    source_json.contains(&source.name),
                    target_json.contains(&c.name),
                ) {
                    (false, true) => checks.push(Planned {
                        kind: "json",
                        test: Test::NotJson,
                        blocking: true,
                        fix: "make the values JSON in the source or in a transform, or make \
                              the target column text"
                            .into(),
                    }),
                    (true, false) => out.notes.push(format!(
                        "column `{}` is JSON in the source and {} in the target: its values \
                         are copied as text, which the target no longer checks to be JSON",
                        c.name, target.column_type
                    )),
                    _ => {}
                }
                for p in checks {
                    probes.push(Probe {
                        column: source.name.clone(),
                        test: p.test.clone(),
                    });
                    planned.push((c.name.clone(), source, target, p));
                }
            }
            Fill::Function => by_function.push(format!("`{}`", c.name)),
            Fill::Field(_) => by_transform.push(format!("`{}`", c.name)),
            Fill::Value(_) | Fill::Sql(_) => {}
        }
    }
    for (columns, maker) in [
        (by_function, "map functions"),
        (by_transform, "the transform"),
    ] {
        if !columns.is_empty() {
            out.notes.push(format!(
                "not scanned: {} {} made by {maker}, whose values exist only when the row \
                 code runs (a run refuses those the target would change, page by page, \
                 before it commits)",
                if columns.len() == 1 {
                    "column"
                } else {
                    "columns"
                },
                columns.join(", ") + if columns.len() == 1 { " is" } else { " are" },
            ));
        }
    }
    // The largest row: measured in the pass when there is one (a pass of its own
    // would cost a scan for every copy with a long column).
    let packet = packet_probe(plan, env);
    if probes.is_empty() {
        if packet.is_some() {
            out.notes.push(format!(
                "not measured: the largest row (no column needed a scan); its columns may \
                 hold more than the target's max_allowed_packet ({} bytes)",
                env.target.max_allowed_packet
            ));
        }
        return Ok(out);
    }
    let packet_at = packet.map(|p| {
        probes.push(p);
        probes.len() - 1
    });
    // One pass over the source table: say so before a long scan starts.
    log::info!(
        "copy {}: checking {} column test{} in one scan of {} (~{} rows)",
        plan.name,
        probes.len(),
        if probes.len() == 1 { "" } else { "s" },
        plan.source.name,
        plan.source.estimated_rows
    );
    // The rows a run reads: its `where`, and an incremental copy's window.
    let scanned = plan.scan_filter();
    let filter = scanned.as_deref();
    let counts = src.hazard_counts(&plan.source, filter, &probes)?;
    out.queries += 1;
    let key = plan.key_names();
    let example = |key_values: Vec<Value>, value: String| Example {
        // A keyless source has no key to name a row by: its value says which.
        key: if key_values.is_empty() {
            "(no key)".to_string()
        } else {
            plan.row_label(Some(&key_values), 0)
        },
        value,
    };
    if let Some(at) = packet_at {
        if counts[at] > 0 {
            let rows = src.hazard_examples(&plan.source, filter, &key, &probes[at], EXAMPLES)?;
            out.queries += 1;
            let accepted = plan.accept.accepts_value("max_allowed_packet", "");
            let mut h = Hazard::about(
                "max_allowed_packet",
                "",
                &format!("rows over {} bytes", env.target.max_allowed_packet),
                counts[at],
                packet_fix(env),
            );
            h.blocking = !accepted;
            h.accepted = accepted;
            h.examples = rows
                .into_iter()
                .map(|(k, v)| {
                    example(
                        k,
                        format!("{} bytes", show(&v, crate::db::value::Kind::Int)),
                    )
                })
                .collect();
            out.hazards.push(h);
        }
    }
    for ((probe, count), (column, source, target, p)) in probes.iter().zip(counts).zip(planned) {
        if count == 0 {
            continue;
        }
        let (count, rows) = if p.test == Test::FloatPrecision {
            float_precision(src, plan, &key, probe)?
        } else {
            (
                count,
                src.hazard_examples(&plan.source, filter, &key, probe, EXAMPLES)?,
            )
        };
        out.queries += 1;
        if count == 0 {
            continue;
        }
        let examples = rows
            .into_iter()
            .map(|(key_values, value)| example(key_values, shown(&value, source)))
            .collect();
        let accepted = plan.accept.accepts_value(p.kind, &column);
        out.hazards.push(Hazard {
            kind: p.kind,
            column,
            source_column: source.name.clone(),
            source_type: type_of(source, target),
            target_type: type_of(target, source),
            count,
            blocking: p.blocking && !accepted,
            accepted,
            examples,
            fix: p.fix,
            key: None,
            effect: None,
        });
    }
    Ok(out)
}

/// A row's key values and one value of it.
type KeyedValue = (Vec<Value>, Value);

/// DOUBLE values a FLOAT would give back as another number: the pass's candidates
/// (those a FLOAT does not hold exactly) streamed, and those whose shortest FLOAT form
/// reads as another number kept (as a run's page check decides); the count and the
/// first rows.
fn float_precision(
    src: &mut Db,
    plan: &CopyPlan,
    key: &[String],
    probe: &Probe,
) -> Result<(u64, Vec<KeyedValue>)> {
    let cond = probe
        .test
        .condition(&crate::db::schema::quote_ident(&probe.column))?;
    let filter = match &plan.scan_filter() {
        Some(f) => format!("({f}) AND ({cond})"),
        None => cond,
    };
    let mut columns = key.to_vec();
    columns.push(probe.column.clone());
    let (mut count, mut rows) = (0u64, Vec::new());
    src.stream_batches(&plan.source, Some(&filter), &columns, 1000, &mut |batch| {
        for r in batch {
            let mut r = r.clone();
            let value = r.pop().unwrap_or(Value::NULL);
            if let Value::Double(d) = value {
                if !survives_f32(d) {
                    count += 1;
                    if rows.len() < EXAMPLES as usize {
                        rows.push((r, value));
                    }
                }
            }
        }
        Ok(true)
    })?;
    Ok((count, rows))
}

/// A value for the report: as messages show it, a large or tiny DOUBLE in exponent form.
fn shown(value: &crate::db::Value, column: &ColumnInfo) -> String {
    match value {
        crate::db::Value::Double(d) if *d != 0.0 && !(1e-6..1e15).contains(&d.abs()) => {
            format!("{d:e}")
        }
        v => show(v, column.kind()),
    }
}

/// A column's type, with its character set when the other column's differs.
fn type_of(column: &ColumnInfo, other: &ColumnInfo) -> String {
    match (&column.charset, &other.charset) {
        (Some(a), Some(b)) if a != b => format!("{} {a}", column.column_type),
        _ => column.column_type.clone(),
    }
}
