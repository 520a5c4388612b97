//! A copy explained instead of run (`crate::explain`): in the explain pass of `ferry
//! explain` (each chosen copy of the script), or at once for `try{}` / `explain{}` in
//! the REPL, in whatever pass it runs. The copy is resolved as `Job::copy` resolves it
//! and its rows go through the same processor; nothing is written.

use crate::engine::{DirectProcessor, RowProcessor};
use crate::error::{Error, Result};
use crate::explain::{explain_copy, CopyExplain, ExplainOptions, RunAs, Selection};
use crate::job::copy::Resolved;
use crate::job::{CopyOptions, CopyRequest, Job, Transform};
use crate::plan::CopyPlan;

impl Job {
    /// Explains the rows `selection` picks of the copy `req` asks for, with its row
    /// code `transform`; a problem of the copy is an error (as in the real pass).
    pub fn explain(
        &self,
        req: CopyRequest,
        transform: Option<&dyn Transform>,
        selection: &Selection,
    ) -> Result<CopyExplain> {
        let name = req.spec.name();
        let Some(Resolved { plan, .. }) = self.resolve_copy(req.spec, transform)? else {
            return Err(Error::Plan {
                problems: self
                    .take_problems()
                    .into_iter()
                    .map(|p| p.message)
                    .collect(),
                rows_only: false,
            });
        };
        let mut processor: Box<dyn RowProcessor> = match (
            DirectProcessor::new(&plan).filter(|_| !plan.has_transform),
            transform,
        ) {
            (Some(d), _) => Box::new(d),
            (None, Some(t)) => t.processor(&plan)?,
            (None, None) => {
                return Err(Error::usage(format!(
                    "copy {name}: its row code was not given to the job"
                )))
            }
        };
        self.explain_plan(&plan, processor.as_mut(), selection, &req.options)
    }

    /// The explain pass's copy (id `id`): explained and recorded when chosen.
    pub(super) fn explain_in_pass(
        &self,
        plan: &CopyPlan,
        id: &str,
        processor: &mut dyn RowProcessor,
        options: &CopyOptions,
    ) -> Result<()> {
        let explaining = self.record.borrow().explain.options.clone();
        if !explaining.chosen(&plan.name, id) {
            return Ok(());
        }
        let report = self.explain_plan(plan, processor, &explaining.selection, options)?;
        self.record.borrow_mut().explain.reports.push(report);
        Ok(())
    }

    fn explain_plan(
        &self,
        plan: &CopyPlan,
        processor: &mut dyn RowProcessor,
        selection: &Selection,
        options: &CopyOptions,
    ) -> Result<CopyExplain> {
        let run_as = RunAs {
            method: options.method.unwrap_or(self.settings.borrow().method),
            rejecting: options.rejects.is_some(),
            page_bytes: self.settings.borrow().page_bytes,
        };
        let src = self.session(crate::db::Role::Source, None)?;
        let dst = self.session(crate::db::Role::Target, None)?;
        let busy = |_| Error::usage("a copy cannot be explained inside another copy's transform");
        let mut s = src.try_borrow_mut().map_err(busy)?;
        let mut d = dst.try_borrow_mut().map_err(busy)?;
        explain_copy(plan, &mut s, &mut d, processor, selection, &run_as)
    }

    /// The explain pass's options.
    pub fn set_explain_options(&self, options: ExplainOptions) {
        self.record.borrow_mut().explain.options = options;
    }

    /// The explain pass's reports, taken.
    pub fn take_explains(&self) -> Vec<CopyExplain> {
        std::mem::take(&mut self.record.borrow_mut().explain.reports)
    }
}
