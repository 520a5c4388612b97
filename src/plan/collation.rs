//! Whether the target's key can tell apart every key the source tells apart.
//!
//! The mode resolves rows on one target key (`Writer`'s resolving key). When a column of
//! that key compares in a coarser collation than the source column it is filled from
//! (`utf8mb4_general_ci` against `utf8mb4_bin`, PAD SPACE against NO PAD, Swedish
//! against general rules), two source rows with different keys can be one row in the
//! target: insert would ignore the second, overwrite would replace the first with it,
//! upsert would update the first. Nothing on the wire says so (the second row meets an
//! "existing" key, as a re-run's rows do), so the plan refuses such a copy unless it
//! accepts the hazard by name (`accept = {"key_collation"}`).

use crate::db::schema::ColumnInfo;

/// Why `target` (a column of the resolving key) may merge values that `source` keeps
/// apart; `None` when it cannot.
pub fn coarser(source: &ColumnInfo, target: &ColumnInfo) -> Option<String> {
    let tc = target.collation.as_deref()?;
    let text = |c: &ColumnInfo| c.charset.is_some();
    let binary_string = matches!(
        source.data_type.to_ascii_lowercase().as_str(),
        "binary" | "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob"
    );
    if !text(source) && !binary_string {
        // Numbers, dates and times print as distinct texts in every collation.
        return None;
    }
    let t_rule = rule(tc);
    if t_rule == "nopad_bin" {
        return None;
    }
    let source_coll = source.collation.as_deref();
    let s_rule = source_coll.map(rule);
    let s_nopad = s_rule.is_none_or(|r| r.starts_with("nopad"));
    if t_rule == "bin" && !s_nopad {
        return None;
    }
    if s_rule == Some(t_rule) {
        return None;
    }
    Some(format!(
        "`{}` compares in {tc} in the target, but its source column `{}` is {}",
        target.name,
        source.name,
        source_coll.map_or("a binary string".to_string(), |c| c.to_string())
    ))
}

/// A collation's rule without its character set: `utf8mb4_general_ci` -> `general_ci`,
/// `latin1_bin` -> `bin`, `utf8mb4_nopad_bin` -> `nopad_bin`.
fn rule(collation: &str) -> &str {
    collation.split_once('_').map_or(collation, |(_, r)| r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(name: &str, data_type: &str, collation: Option<&str>) -> ColumnInfo {
        ColumnInfo {
            nullable: false,
            key: "PRI".into(),
            charset: collation.map(|c| c.split('_').next().unwrap_or(c).to_string()),
            collation: collation.map(str::to_string),
            ..ColumnInfo::for_test(name, data_type)
        }
    }

    #[test]
    fn coarser_target_collations_are_found() {
        let s = |c| col("k", "varchar", Some(c));
        let t = |c| col("k", "varchar", Some(c));
        assert!(coarser(&s("utf8mb4_bin"), &t("utf8mb4_general_ci")).is_some());
        assert!(coarser(&s("utf8mb4_nopad_bin"), &t("utf8mb4_bin")).is_some());
        assert!(coarser(&s("latin1_swedish_ci"), &t("utf8mb4_general_ci")).is_some());
        assert!(coarser(&col("k", "varbinary", None), &t("utf8mb4_bin")).is_some());
        assert!(coarser(&col("k", "varbinary", None), &t("utf8mb4_nopad_bin")).is_none());
        assert!(coarser(&s("utf8mb3_general_ci"), &t("utf8mb4_general_ci")).is_none());
        assert!(coarser(&s("utf8mb4_general_ci"), &t("utf8mb4_bin")).is_none());
        assert!(coarser(&s("utf8mb4_unicode_ci"), &t("latin1_bin")).is_none());
        assert!(coarser(&col("k", "int", None), &t("utf8mb4_general_ci")).is_none());
        assert!(coarser(&s("utf8mb4_bin"), &col("k", "int", None)).is_none());
    }
}
