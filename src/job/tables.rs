//! A copy of many tables (`copy{tables = "*"}`): the selection resolved against the
//! source's tables, put in foreign-key load order (`plan::order`, parents first), and
//! run as one copy per table, each named after its table so its state and `--resume`
//! are its own. With `create`, a missing (or, `"replace"`, every) target table is made
//! from the source's definition before its rows, and the source's foreign keys the
//! target tables lack are added once every table holds its rows, so cycles load. The
//! plan pass records the table set's plan (`--dry-run` lists it).

use std::collections::{BTreeSet, HashMap};

use crate::db::schema::TableInfo;
use crate::db::Role;
use crate::error::Result;
use crate::job::{CopyOutcome, CopyRequest, Job, Pass, TableCopy};
use crate::plan::order::{load_order, LoadOrder};
use crate::plan::tables::TableSetPlan;
use crate::plan::{Create, SetTable, TableSelection};

impl Job {
    /// Runs `req` (its `from`/`to` aside) for every table `selection` resolves to, in
    /// load order, or a table's own copy in `own`; the outcomes by table. In a parallel
    /// job the tables of one level run at once and the level is waited for before the
    /// next.
    pub fn copy_tables(
        &self,
        req: CopyRequest,
        selection: &TableSelection,
        own: &HashMap<String, TableCopy<'_>>,
    ) -> Result<Vec<(String, CopyOutcome)>> {
        let loc = req.spec.location.clone();
        let label = format!("tables {}", selection.include.join(", "));
        let src = self.session(Role::Source, None)?;
        let dst = self.session(Role::Target, None)?;
        let summaries = src.borrow_mut().tables()?;
        let available: Vec<String> = summaries.iter().map(|t| t.name.clone()).collect();
        let chosen = match selection.resolve(&available) {
            Ok(c) => c,
            Err(problems) => {
                self.refuse(&loc, &label, problems)?;
                return Ok(Vec::new());
            }
        };
        let keys = src.borrow_mut().foreign_keys()?;
        let order = load_order(&chosen, &keys);
        let on_target: BTreeSet<String> = dst
            .borrow_mut()
            .tables()?
            .into_iter()
            .map(|t| t.name)
            .collect();
        let missing: Vec<&String> = chosen.iter().filter(|t| !on_target.contains(*t)).collect();
        if selection.create == Create::No && !missing.is_empty() {
            let db = dst.borrow().database().to_string();
            let problems = missing
                .iter()
                .map(|t| {
                    format!(
                        "the target database {db} has no table `{t}`: create it first, or \
                         add create = true to make it from the source's definition"
                    )
                })
                .collect();
            self.refuse(&loc, &label, problems)?;
            return Ok(Vec::new());
        }
        let action = |t: &str| match selection.create {
            Create::No => "",
            Create::Missing if on_target.contains(t) => "",
            Create::Missing => "created",
            Create::Replace => "replaced",
        };
        if self.host.pass == Pass::Plan {
            let mut plan = TableSetPlan {
                location: loc.clone(),
                cycles: order.cycles.clone(),
                ..TableSetPlan::default()
            };
            for (level, names) in order.levels.iter().enumerate() {
                for t in names {
                    let estimated_rows = summaries
                        .iter()
                        .find(|s| &s.name == t)
                        .map_or(0, |s| s.rows);
                    plan.tables.push(SetTable {
                        name: t.clone(),
                        level,
                        estimated_rows,
                        action: action(t),
                    });
                }
            }
            if selection.create != Create::No {
                plan.foreign_keys = keys
                    .iter()
                    .filter(|k| chosen.contains(&k.table))
                    .map(|k| format!("{}.{}", k.table, k.name))
                    .collect();
                plan.foreign_keys.sort();
            }
            let (made, not_copied, problems) = self.plan_objects(&chosen, selection.objects)?;
            plan.objects = made;
            plan.not_copied = not_copied;
            self.record.borrow_mut().table_sets.push(plan);
            // Recorded with the copies' own problems, all reported at once.
            self.refuse(&loc, &label, problems)?;
        }
        if selection.objects {
            self.drop_remade_triggers(&chosen)?;
        }
        let outcomes = self.copy_levels(&req, own, &order, &action)?;
        if self.host.pass == Pass::Real && selection.create != Create::No {
            self.add_missing_foreign_keys(&chosen)?;
        }
        if self.host.pass == Pass::Real && selection.objects {
            self.create_objects(&chosen, false)?;
        }
        Ok(outcomes)
    }

    /// Each level's tables copied (created first when `action` says so).
    pub(super) fn copy_levels(
        &self,
        req: &CopyRequest,
        own: &HashMap<String, TableCopy<'_>>,
        order: &LoadOrder,
        action: &dyn Fn(&str) -> &'static str,
    ) -> Result<Vec<(String, CopyOutcome)>> {
        let mut outcomes = Vec::new();
        for names in &order.levels {
            let first = outcomes.len();
            for t in names {
                match (self.host.pass, action(t)) {
                    (_, "") => {}
                    (Pass::Plan, _) => self.plan_created_target(t)?,
                    (Pass::Real, a) => self.create_target(t, a == "replaced")?,
                    (Pass::Verify | Pass::Explain, _) => {}
                }
                let outcome = match own.get(t) {
                    Some(c) => self.copy(c.request.clone(), c.transform)?,
                    None => {
                        let mut r = req.clone();
                        r.spec.from = t.clone();
                        r.spec.to = t.clone();
                        self.copy(r, None)?
                    }
                };
                outcomes.push((t.clone(), outcome));
            }
            // Parents first: a level's copies end before the next level starts.
            for (_, outcome) in &mut outcomes[first..] {
                if let CopyOutcome::Running(s) = outcome {
                    *outcome = CopyOutcome::Done(self.wait(s.handle, &s.name, s.mode)?);
                }
            }
        }
        Ok(outcomes)
    }

    /// Plan pass: the target table `table` will be the source's, so the copy's plan
    /// is resolved against the source's columns and keys.
    pub(super) fn plan_created_target(&self, table: &str) -> Result<()> {
        let src = self.session(Role::Source, None)?;
        let dst = self.session(Role::Target, None)?;
        let Some(info) = src.borrow_mut().table_info(table)? else {
            return Ok(());
        };
        let target = TableInfo {
            database: dst.borrow().database().to_string(),
            estimated_rows: 0,
            triggers: Vec::new(),
            ..info
        };
        self.record
            .borrow_mut()
            .planned_targets
            .insert(table.to_string(), target);
        Ok(())
    }

    /// Real pass: makes the target table from the source's definition (dropping it
    /// first when `replace`), unless `--resume` continues a copy that already wrote
    /// into it.
    pub(super) fn create_target(&self, table: &str, replace: bool) -> Result<()> {
        let id = self.next_copy_id(table);
        if self.host.flags.resume && self.saved_state()?.copies.contains_key(&id) {
            return Ok(());
        }
        let src = self.session(Role::Source, None)?;
        let dst = self.session(Role::Target, None)?;
        let def = src.borrow_mut().table_definition(table)?;
        let mut dst = dst.borrow_mut();
        if !replace && dst.table_info(table)?.is_some() {
            return Ok(());
        }
        log::info!(
            "{}: {} from the source's definition",
            table,
            if replace { "replaced" } else { "created" }
        );
        dst.create_table(&def, replace)
    }

    /// Adds the source's foreign keys of `tables` that the target tables lack.
    pub(super) fn add_missing_foreign_keys(&self, tables: &[String]) -> Result<()> {
        let src = self.session(Role::Source, None)?;
        let dst = self.session(Role::Target, None)?;
        let present = dst.borrow_mut().foreign_keys()?;
        for t in tables {
            let names: Vec<String> = present
                .iter()
                .filter(|k| &k.table == t)
                .map(|k| k.name.clone())
                .collect();
            let def = src.borrow_mut().table_definition(t)?;
            let def = def.keys_missing_from(&names);
            if !def.foreign_keys.is_empty() {
                log::info!(
                    "{t}: foreign keys added after the data: {}",
                    def.foreign_key_names().join(", ")
                );
                dst.borrow_mut().add_foreign_keys(&def)?;
            }
        }
        Ok(())
    }
}
