//! `ferry check`'s environment: the privileges each copy needs on each side (SELECT on
//! the source; INSERT on the target, DELETE for overwrite, UPDATE for upsert, ALTER and
//! INDEX where indexes are deferred, CREATE where the job creates the table), the
//! target's `local_infile` where a copy writes with LOAD DATA, the largest row a copy
//! may send against the target's `max_allowed_packet`, and the server versions and time
//! zones. A missing privilege or a row too large blocks; the rest are notes
//! (`local_infile` off included: a run falls back to prepared statements).

use super::report::{CopyCheck, Hazard};
use crate::db::check_env::{Grants, ServerSettings};
use crate::db::hazards::{Probe, Test};
use crate::db::schema::ColumnInfo;
use crate::db::shape::{max_bytes, shape, Shape};
use crate::db::write::Method;
use crate::db::Db;
use crate::error::Result;
use crate::plan::{CopyPlan, Fill, Mode};

/// What the job's two servers are, and what its user may do there.
pub(super) struct Sides {
    pub source: ServerSettings,
    pub target: ServerSettings,
    source_grants: Grants,
    target_grants: Grants,
}

impl Sides {
    pub fn read(src: &mut Db, dst: &mut Db) -> Result<Sides> {
        Ok(Sides {
            source: src.check_settings()?,
            target: dst.check_settings()?,
            source_grants: src.grants()?,
            target_grants: dst.grants()?,
        })
    }

    /// Notes about the job as a whole: servers of other kinds or versions.
    pub fn notes(&self) -> Vec<String> {
        let release = |v: &str| -> (bool, String) {
            let mut parts = v.split(['.', '-']);
            let major = parts.next().unwrap_or("").to_string();
            let minor = parts.next().unwrap_or("").to_string();
            (v.contains("MariaDB"), format!("{major}.{minor}"))
        };
        let (s, t) = (release(&self.source.version), release(&self.target.version));
        if s == t {
            return Vec::new();
        }
        vec![format!(
            "servers: the source runs {}, the target {}: {}",
            self.source.version,
            self.target.version,
            if s.0 != t.0 {
                "MySQL and MariaDB differ in JSON (a type in MySQL, LONGTEXT in MariaDB), \
                 collations (utf8mb4_0900_* is MySQL's alone) and TIMESTAMP ranges; ferry \
                 copies values, so a column definition that one side lacks is the job's to map"
            } else {
                "check the release notes for changed defaults (sql_mode, collations)"
            }
        )]
    }
}

/// The largest row `columns` may make, in bytes, from their definitions.
pub(super) fn max_row_bytes(columns: &[&ColumnInfo]) -> u64 {
    columns
        .iter()
        .map(|c| match shape(c) {
            Shape::Text { chars: Some(n), .. } => n * c.charset.as_deref().map_or(4, max_bytes),
            Shape::Text { bytes: Some(n), .. } | Shape::Binary(n) => n,
            Shape::Text { .. } | Shape::Other => u64::from(u32::MAX),
            Shape::Enum(m) | Shape::Set(m) => m.iter().map(|m| m.len() as u64 + 1).sum(),
            _ => 16,
        })
        .sum()
}

/// The source columns a copy sends as they are.
pub(super) fn sent_columns(plan: &CopyPlan) -> Vec<&ColumnInfo> {
    plan.columns
        .iter()
        .filter_map(|c| match c.fill {
            Fill::Source(i) => plan.source.columns.get(i),
            _ => None,
        })
        .collect()
}

/// The probe for rows larger than the target's `max_allowed_packet`, when the column
/// definitions allow one (`None`: no row can be).
pub(super) fn packet_probe(plan: &CopyPlan, env: &Sides) -> Option<Probe> {
    let columns = sent_columns(plan);
    let packet = env.target.max_allowed_packet;
    (packet > 0 && max_row_bytes(&columns) > packet).then(|| Probe {
        column: columns.first().map(|c| c.name.clone()).unwrap_or_default(),
        test: Test::RowBytes {
            columns: columns.iter().map(|c| c.name.clone()).collect(),
            max: packet,
        },
    })
}

/// The fix of a row larger than the target's packet.
pub(super) fn packet_fix(env: &Sides) -> String {
    format!(
        "raise max_allowed_packet in the target server's settings (now {} bytes), or \
         leave the large values out of the copy",
        env.target.max_allowed_packet
    )
}

/// The environment findings of one copy; `target_exists`: the target table is there
/// (else the job creates it).
pub(super) fn check(env: &Sides, plan: &CopyPlan, target_exists: bool, out: &mut CopyCheck) {
    let (sdb, stable) = (&plan.source.database, &plan.source.name);
    let (tdb, ttable) = (&plan.target.database, &plan.target.name);
    let mut needs: Vec<(&str, bool, &str)> = vec![("SELECT", false, "to read the rows")];
    needs.push(("INSERT", true, "to write the rows"));
    match plan.mode {
        Mode::Overwrite => needs.push(("DELETE", true, "overwrite replaces rows (REPLACE)")),
        Mode::Upsert => needs.push(("UPDATE", true, "upsert updates rows")),
        Mode::Insert => {}
    }
    if plan.defer_indexes == Some(true) {
        needs.push(("ALTER", true, "defer_indexes drops and adds indexes"));
        needs.push(("INDEX", true, "defer_indexes drops and adds indexes"));
    }
    if !target_exists {
        needs.push(("CREATE", true, "the job creates the table"));
    }
    for (privilege, on_target, why) in needs {
        let (grants, db, table, side) = if on_target {
            (&env.target_grants, tdb, ttable, "target")
        } else {
            (&env.source_grants, sdb, stable, "source")
        };
        let what = format!("{privilege} on {db}.{table} ({side})");
        match grants.holds(privilege, db, table) {
            Some(true) => {}
            None => out.notes.push(format!(
                "{what}: not among the user's own grants; it may come from a role ({why})"
            )),
            Some(false) => {
                let accepted = plan.accept.accepts_value("privilege", "");
                let mut h = Hazard::about(
                    "privilege",
                    "",
                    &what,
                    0,
                    format!(
                        "GRANT {privilege} ON `{db}`.`{table}` TO the job's {side} user \
                         ({why})"
                    ),
                );
                h.blocking = !accepted;
                h.accepted = accepted;
                out.hazards.push(h);
            }
        }
    }
    if plan.method == Some(Method::Load) && !env.target.local_infile {
        // A run writes with prepared statements instead (it says so once): slower, not
        // wrong, so a note.
        let mut h = Hazard::about(
            "local_infile",
            "",
            "local_infile=OFF on the target",
            0,
            "turn local_infile on in the target server's settings for the load method's speed; \
             else a run writes with prepared statements instead"
                .into(),
        );
        h.blocking = false;
        h.effect = Some("write = \"load\" falls back to prepared statements".into());
        out.hazards.push(h);
    }
    let timestamps = |cols: &[ColumnInfo]| {
        cols.iter()
            .any(|c| c.data_type.eq_ignore_ascii_case("timestamp"))
    };
    if (timestamps(&plan.source.columns) || timestamps(&plan.target.columns))
        && env.source.time_zone != env.target.time_zone
    {
        out.notes.push(format!(
            "time zones: the source server runs in {}, the target in {}; ferry's sessions \
             both use UTC, so TIMESTAMP values keep their instant, but the target's clients \
             see them in its own zone (another wall-clock time than on the source)",
            env.source.time_zone, env.target.time_zone
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn largest_rows_from_definitions() {
        let c = |t: &str| {
            let mut c = ColumnInfo::for_test("a", t);
            if t.starts_with("varchar") || t.ends_with("text") {
                c.charset = Some("utf8mb4".into());
            }
            c
        };
        let (a, b, l) = (c("varchar(10)"), c("int(11)"), c("longtext"));
        assert_eq!(max_row_bytes(&[&a, &b]), 56);
        assert!(max_row_bytes(&[&a, &l]) > 1 << 31);
    }

    #[test]
    fn servers_of_other_kinds_or_versions_are_a_note() {
        let sides = |s: &str, t: &str| Sides {
            source: ServerSettings {
                version: s.into(),
                ..Default::default()
            },
            target: ServerSettings {
                version: t.into(),
                ..Default::default()
            },
            source_grants: Grants::default(),
            target_grants: Grants::default(),
        };
        assert!(sides("10.11.6-MariaDB", "10.11.9-MariaDB-log")
            .notes()
            .is_empty());
        let n = sides("8.0.36", "10.11.6-MariaDB").notes();
        assert!(n[0].contains("MySQL and MariaDB differ in JSON"), "{n:?}");
        let n = sides("10.6.1-MariaDB", "11.4.2-MariaDB").notes();
        assert!(n[0].contains("release notes"), "{n:?}");
    }
}
