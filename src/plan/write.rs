//! What a plan hands the writer: its target table, the columns it writes (each a
//! statement parameter or an SQL expression), its mode and whether it accepts unique-key
//! conflicts, as `db::write::Target`, so the database layer needs no plan.

use crate::db::write::{Cell, Column, Target};
use crate::plan::{CopyPlan, Fill};

impl CopyPlan {
    /// What the writer writes for this copy. Its parameter columns are the plan's value
    /// columns, in the same order.
    pub fn write_target(&self) -> Target {
        Target {
            table: self.target.clone(),
            columns: self
                .columns
                .iter()
                .map(|c| Column {
                    name: c.name.clone(),
                    cell: match &c.fill {
                        Fill::Sql(expr) => Cell::Sql(expr.clone()),
                        _ => Cell::Param,
                    },
                    mapped: c.mapped,
                })
                .collect(),
            mode: self.mode,
            accept_conflicts: self.accept.unique_conflicts,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::db::schema::{IndexInfo, TableInfo};
    use crate::db::write::{Cell, Mode};
    use crate::db::Value;
    use crate::plan::{resolve, CopySpec, DefaultValue};

    #[test]
    fn the_writer_gets_the_plans_columns_with_its_values_in_order() {
        let source = TableInfo::for_test("s", &["id", "a"]);
        let mut target = TableInfo::for_test("t", &["id", "a", "v", "w"]);
        target.indexes.push(IndexInfo {
            name: "PRIMARY".into(),
            unique: true,
            columns: vec!["id".into()],
            not_null: true,
        });
        let spec = CopySpec {
            mode: Mode::Upsert,
            defaults: vec![
                ("v".into(), DefaultValue::Sql("NOW()".into())),
                ("w".into(), DefaultValue::Value(Value::from("x"))),
            ],
            accept: crate::plan::Accept {
                unique_conflicts: true,
                ..Default::default()
            },
            ..CopySpec::new("s", "t", 10, "job.lua:1")
        };
        let plan = resolve(&spec, &source, &target).unwrap();
        let t = plan.write_target();
        assert_eq!(
            t.columns
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>(),
            vec!["id", "a", "v", "w"]
        );
        assert_eq!(t.columns[2].cell, Cell::Sql("NOW()".into()));
        assert_eq!(
            t.columns.iter().map(|c| c.mapped).collect::<Vec<_>>(),
            vec![true, true, false, false]
        );
        assert_eq!(
            t.param_columns()
                .map(|c| c.name.clone())
                .collect::<Vec<_>>(),
            plan.value_columns()
                .map(|c| c.name.clone())
                .collect::<Vec<_>>()
        );
        assert_eq!(
            t.param_columns()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>(),
            vec!["id", "a", "w"]
        );
        assert_eq!((t.mode, t.accept_conflicts), (Mode::Upsert, true));
        assert_eq!(t.table.name, "t");
    }
}
