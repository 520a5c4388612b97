//! `objects = true` on a copy of many tables: the source's views, triggers, stored
//! procedures and functions made on the target once every table holds its rows
//! (routines first, then views, triggers last, so no trigger fires on the copied rows).
//! The plan pass lists them, lists what is not copied (events, triggers of tables
//! outside the copy), and names each definer the target lacks as a problem, so nothing
//! is written; where the target does not let ferry read its users, the real pass finds
//! a missing definer when it creates the object and stops there, naming it.

use crate::db::objects::{hidden_definition, missing_definer, ObjectDefinition};
use crate::db::Role;
use crate::error::{Error, Result};
use crate::job::Job;

/// `(created, not copied, problems)` as the plan shows them.
type Planned = (Vec<String>, Vec<String>, Vec<String>);

impl Job {
    /// The objects a copy of `tables` creates (`objects`) or leaves out, and the
    /// definers the target lacks.
    pub(super) fn plan_objects(&self, tables: &[String], objects: bool) -> Result<Planned> {
        let src = self.session(Role::Source, None)?;
        let all = src.borrow_mut().other_objects()?;
        if !objects {
            let listed = all.iter().map(|o| format!("{} {}", o.kind, o.name));
            return Ok((Vec::new(), listed.collect(), Vec::new()));
        }
        let made = self.objects_of(tables)?;
        let not_copied = all
            .iter()
            .filter(|o| !made.iter().any(|m| m.kind == o.kind && m.name == o.name))
            .map(|o| format!("{} {}", o.kind, o.name))
            .collect();
        let dst = self.session(Role::Target, None)?;
        let mut problems = Vec::new();
        for def in &made {
            if def.create.is_empty() {
                problems.push(format!("{}: {}", def.label(), hidden_definition()));
            } else if dst.borrow_mut().definer_exists(&def.definer)? == Some(false) {
                problems.push(format!("{}: {}", def.label(), missing_definer(def)));
            }
        }
        let made = made.iter().map(ObjectDefinition::label).collect();
        Ok((made, not_copied, problems))
    }

    /// Creates the objects of a copy of `tables` on the target. A view that needs
    /// another view is tried again once the others are made; one that reads a table
    /// the target lacks is an error, or with `skip_unread` (a sample, which copies some
    /// tables only) left out with a warning.
    pub(super) fn create_objects(&self, tables: &[String], skip_unread: bool) -> Result<()> {
        let dst = self.session(Role::Target, None)?;
        let mut pending = self.objects_of(tables)?;
        loop {
            let mut unread = Vec::new();
            for def in pending.iter() {
                match dst.borrow_mut().create_object(def)? {
                    None => log::info!("{}: created from the source's definition", def.label()),
                    Some(message) => unread.push((def.clone(), message)),
                }
            }
            if unread.is_empty() {
                return Ok(());
            }
            if unread.len() == pending.len() {
                let (def, message) = &unread[0];
                if !skip_unread {
                    return Err(Error::database(
                        format!("creating {} on the target", def.label()),
                        message,
                    ));
                }
                for (def, message) in &unread {
                    log::warn!(
                        "{}: not made, it reads a table the sample does not copy ({message})",
                        def.label()
                    );
                }
                return Ok(());
            }
            pending = unread.into_iter().map(|(d, _)| d).collect();
        }
    }

    /// The source's triggers of `tables` that the target has too (a re-run): made again
    /// after the data, they are dropped before it (in the real pass) so they do not
    /// fire on the copied rows, and are no problem to the copies' plans.
    pub(super) fn drop_remade_triggers(&self, tables: &[String]) -> Result<()> {
        let dst = self.session(Role::Target, None)?;
        for def in self.objects_of(tables)? {
            let Some(table) = def.table.as_ref().filter(|_| def.kind == "TRIGGER") else {
                continue;
            };
            let on_target = dst.borrow_mut().table_info(table)?;
            if !on_target.is_some_and(|t| t.triggers.iter().any(|x| x.name == def.name)) {
                continue;
            }
            self.record
                .borrow_mut()
                .remade_triggers
                .insert((table.clone(), def.name.clone()));
            if self.host.pass == crate::job::Pass::Real {
                dst.borrow_mut().drop_object(&def)?;
                log::info!(
                    "{}: dropped from the target for the copy; made again after the data",
                    def.label()
                );
            }
        }
        Ok(())
    }

    /// The source's routines and views, and the triggers of `tables`, in the order
    /// they are created.
    fn objects_of(&self, tables: &[String]) -> Result<Vec<ObjectDefinition>> {
        let src = self.session(Role::Source, None)?;
        let defs = src.borrow_mut().object_definitions()?;
        Ok(defs
            .into_iter()
            .filter(|d| d.table.as_ref().is_none_or(|t| tables.contains(t)))
            .collect())
    }
}
