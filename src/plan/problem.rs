//! Problems a copy's spec has on its own terms, typed where the plan's code decides on
//! them: a `map` entry whose source column is nowhere, an `accept` hazard ferry does not
//! know. `Display` gives the line the plan pass lists (the plan's problem list is text).

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanProblem {
    /// `map`: target column `target` <- `from`, but the source has no such column;
    /// `transform_rows`: the fields are those of the transform's sample rows; `hint`
    /// is ` (did you mean `x`?)` or the names there are.
    NoSuchSource {
        target: String,
        from: String,
        transform_rows: bool,
        hint: String,
    },
    /// A hazard name `accept` does not take.
    UnknownHazard { name: String },
}

impl fmt::Display for PlanProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlanProblem::NoSuchSource {
                target,
                from,
                transform_rows,
                hint,
            } => {
                let what = if *transform_rows {
                    "the rows the transform returns have"
                } else {
                    "the source table has"
                };
                write!(
                    f,
                    "map: target column `{target}` <- `{from}`, but {what} no column \
                     `{from}`{hint}"
                )
            }
            PlanProblem::UnknownHazard { name } => write!(
                f,
                "unknown hazard `{name}` in `accept`{}; known: {}",
                crate::db::schema::did_you_mean(name, super::Accept::NAMES.iter().copied()),
                super::Accept::NAMES.join(", ")
            ),
        }
    }
}

impl std::error::Error for PlanProblem {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages() {
        let p = PlanProblem::NoSuchSource {
            target: "a".into(),
            from: "b".into(),
            transform_rows: true,
            hint: " (did you mean `c`?)".into(),
        };
        assert_eq!(
            p.to_string(),
            "map: target column `a` <- `b`, but the rows the transform returns have no \
             column `b` (did you mean `c`?)"
        );
        let p = PlanProblem::UnknownHazard {
            name: "trigers".into(),
        };
        assert_eq!(
            p.to_string(),
            "unknown hazard `trigers` in `accept` (did you mean `triggers`?); known: \
             triggers, unique_conflicts, key_collation, truncate, charset, range, scale, \
             fraction, char_trailing_space, enum, not_null, zero_date, timestamp_range, \
             float_precision, json, foreign_key, privilege, max_allowed_packet"
        );
    }
}
