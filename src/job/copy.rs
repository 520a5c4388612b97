//! One copy, whatever the pass: the tables looked up, a sample page read (it checks
//! `where`, shows which fields a transform returns, and runs the row code before
//! anything is written), the plan resolved, the incremental column and the saved
//! state checked (a resume that cannot go on is a plan problem, found in the plan
//! pass), and then the plan recorded (plan pass), compared (verify pass) or handed to
//! the engine as a `CopyTask` (real pass).

use std::cell::RefCell;
use std::rc::Rc;

use crate::db::Value;

use crate::db::read::SourceQuery;
use crate::db::schema::TableInfo;
use crate::db::state::{CopyState, StateStore};
use crate::db::write::Method;
use crate::db::{Db, Role};
use crate::engine::{
    CopyStats, CopyTask, DirectProcessor, EmitSpec, Overlap, Processing, RowProcessor, Since,
};
use crate::error::{Error, Result};
use crate::job::copy_problems as problems;
use crate::job::hooks::{started, Owner};
use crate::job::rejects::{RejectOptions, Replayed};
use crate::job::{Hooks, Job, Pass, Problem};
use crate::plan::{resolve, CopyPlan, CopySpec, Mode};
use crate::throttle::Limits;

/// Rows the plan pass runs the transform and map functions on.
const SAMPLE_ROWS: usize = 100;

/// A copy's row code (a transform, map functions), written in whatever language the
/// host speaks: the job asks it what a sample row becomes and for the row processor
/// the engine runs.
pub trait Transform {
    /// The fields of the first sample row the transform returns a row for (`None`
    /// when it skips them all); rows that fail are left to the processor.
    fn sample_fields(&self, source: &TableInfo, rows: &[Vec<Value>])
        -> Result<Option<Vec<String>>>;
    /// The processor that turns the plan's source rows into target rows.
    fn processor(&self, plan: &CopyPlan) -> Result<Box<dyn RowProcessor>>;
}

/// How a copy runs (as opposed to what it copies).
#[derive(Debug, Clone, Default)]
pub struct CopyOptions {
    pub workers: Option<usize>,
    pub since: Option<String>,
    pub since_overlap: Option<Overlap>,
    pub limits: Limits,
    pub method: Option<Method>,
    pub defer_indexes: Option<bool>,
    /// `on_error = "reject"` (`None`: `"abort"`).
    pub rejects: Option<RejectOptions>,
    /// Run on a thread of its own and return at once (`ferry repl` only).
    pub background: bool,
    /// `emit = { table = "mode", ... }`: the tables the transform emits rows into.
    pub emits: Vec<EmitSpec>,
}

/// One `copy`: what it copies and how.
#[derive(Debug, Clone)]
pub struct CopyRequest {
    pub spec: CopySpec,
    pub options: CopyOptions,
    /// `before`, `after` and `check` (`crate::job::hooks`).
    pub hooks: Hooks,
}

/// One table's own copy in a copy of many tables (`tables = { "*", users = {...} }`):
/// its request and its row code.
#[derive(Clone, Copy)]
pub struct TableCopy<'a> {
    pub request: &'a CopyRequest,
    pub transform: Option<&'a dyn Transform>,
}

/// A copy running in the background (`job{parallel > 1}`): `Job::wait` gives its stats.
#[derive(Debug, Clone)]
pub struct Started {
    pub handle: usize,
    pub name: String,
    pub mode: Mode,
}

/// What the verify pass found for one copy: `stats` holds source rows (`read`), target
/// rows (`written`) and rows the transform skipped.
#[derive(Debug, Clone)]
pub struct Verified {
    pub stats: CopyStats,
    pub equal: bool,
    pub missing: u64,
    pub extra: u64,
    pub changed: u64,
}

/// What a copy came to.
#[derive(Debug, Clone)]
pub enum CopyOutcome {
    /// Planned (or refused, with its problems recorded): nothing ran.
    Planned,
    Done(CopyStats),
    Running(Started),
    Verified(Verified),
    /// Started with `background = true`: runs on its own thread.
    Background(std::sync::Arc<crate::job::background::Background>),
}

/// A resolved copy and the sample page read for it.
pub(super) struct Resolved {
    pub(super) plan: CopyPlan,
    pub(super) sample: Vec<Vec<Value>>,
}

impl Job {
    /// Runs one copy in this pass. Problems are recorded in the plan pass (the copy
    /// returns `Planned`) and are an error in a later one.
    pub fn copy(&self, req: CopyRequest, transform: Option<&dyn Transform>) -> Result<CopyOutcome> {
        let CopyRequest {
            spec,
            options,
            hooks,
        } = req;
        let name = spec.name();
        let loc = spec.location.clone();
        // The hooks' SQL is parsed in the plan pass, with the copy's other problems.
        let mut bad_hooks = false;
        if self.host.pass == Pass::Plan {
            self.plan_job_hooks()?;
            let problems = self.hook_problems(&hooks)?;
            bad_hooks = !problems.is_empty();
            self.refuse(&loc, &name, problems)?;
        }
        let Some(Resolved { plan, sample }) = self.resolve_copy(spec, transform)? else {
            return Ok(CopyOutcome::Planned);
        };
        if bad_hooks {
            return Ok(CopyOutcome::Planned);
        }
        let mut plan = plan;
        match self.replay(&self.next_copy_id(&name), &mut plan) {
            Replayed::No => {}
            Replayed::Rows(n) => log::info!("{loc}: copy {name}: --replay: {n} rows"),
            Replayed::LeftOut => {
                self.copy_id(&name);
                log::info!("{loc}: copy {name}: not in the rejects file, left out (--replay)");
                return Ok(match self.host.pass {
                    Pass::Plan => CopyOutcome::Planned,
                    _ => CopyOutcome::Done(CopyStats::default()),
                });
            }
            Replayed::Refused(problem) => {
                self.refuse(&loc, &name, vec![problem])?;
                return Ok(CopyOutcome::Planned);
            }
        }
        let direct = DirectProcessor::new(&plan).filter(|_| !plan.has_transform);
        if options.background {
            let problems = problems::background(&name, direct.is_some(), &hooks, self.host.pass);
            if !problems.is_empty() {
                self.refuse(&loc, &name, problems)?;
                return Ok(CopyOutcome::Planned);
            }
        }
        let processor = |direct: &Option<DirectProcessor>| -> Result<Box<dyn RowProcessor>> {
            match (direct, transform) {
                (Some(d), _) => Ok(Box::new(d.clone())),
                (None, Some(t)) => t.processor(&plan),
                (None, None) => Err(Error::usage(format!(
                    "copy {name}: its row code was not given to the job"
                ))),
            }
        };

        // How it runs: the incremental column and the state it resumes from.
        let id = self.copy_id(&name);
        let mut problems = problems::since(&plan, &options);
        problems.extend(self.emit_problems(&options)?);
        let saved = self.saved_state()?.copies.get(&id).cloned();
        let resume = self.reconcile(&plan, &name, saved.clone(), &mut problems);
        if !problems.is_empty() {
            self.refuse(&loc, &name, problems)?;
            return Ok(CopyOutcome::Planned);
        }

        match self.host.pass {
            Pass::Plan => {
                if options.rejects.is_some() {
                    self.note_rejecting(&name);
                }
                let mut p = processor(&direct)?;
                // The sample is a page: its lookup keys are asked ahead as a page's are.
                let columns = p.page_columns();
                if !columns.is_empty() {
                    let values: Vec<Vec<_>> = sample
                        .iter()
                        .map(|r| columns.iter().map(|&c| r[c].clone()).collect())
                        .collect();
                    if let Err(message) = p.begin_page(&values) {
                        self.record.borrow_mut().problems.push(Problem {
                            message: format!("{loc}: copy {name}, the sample's lookups: {message}"),
                            data: false,
                        });
                    }
                }
                let keys: Vec<String> = (sample.iter().enumerate())
                    .map(|(i, row)| plan.row_label(Some(&plan.key_values(row)), i as u64 + 1))
                    .collect();
                // Run as a page is: the keys its lookups wait for asked together.
                let made = match p.process_rows(sample, options.rejects.is_none()) {
                    Ok(made) => made,
                    Err(message) => {
                        self.record.borrow_mut().problems.push(Problem {
                            message: format!("{loc}: copy {name}, the sample's lookups: {message}"),
                            data: false,
                        });
                        Vec::new()
                    }
                };
                let failed = made
                    .into_iter()
                    .zip(keys)
                    .find_map(|((made, _), key)| made.err().map(|message| (key, message)));
                // A row that fails is set aside when the copy runs, with `on_error = "reject"`.
                if let Some((key, message)) = failed.filter(|_| options.rejects.is_none()) {
                    self.record.borrow_mut().problems.push(Problem {
                        message: format!("{loc}: copy {name}, row {key}: {message}"),
                        data: true,
                    });
                }
                let mut plan = plan;
                plan.hooks = hooks.lines();
                plan.window = self
                    .since(&options, saved.as_ref(), resume.as_ref())
                    .and_then(|s| s.scan_condition(&plan));
                let settings = self.settings.borrow();
                plan.method = Some(options.method.unwrap_or(settings.method));
                plan.defer_indexes = options.defer_indexes.or(settings.defer_indexes);
                drop(settings);
                self.record.borrow_mut().plans.push(plan);
                Ok(CopyOutcome::Planned)
            }
            Pass::Explain => {
                let mut p = processor(&direct)?;
                self.explain_in_pass(&plan, &id, p.as_mut(), &options)?;
                Ok(CopyOutcome::Planned)
            }
            Pass::Verify => {
                let mut p = processor(&direct)?;
                self.verify_copy(&plan, p.as_mut(), &options.emits)
                    .map(CopyOutcome::Verified)
            }
            Pass::Real => {
                self.job_before()?;
                let owner = Owner {
                    copy: Some(&name),
                    location: &loc,
                };
                if started(resume.as_ref()) {
                    if !hooks.before.is_empty() {
                        log::info!(
                            "{loc}: copy {name}: --resume continues it: its before hooks do \
                             not run again"
                        );
                    }
                } else {
                    self.run_hooks("before", &hooks.before, &owner, None)?;
                }
                let processing = match direct {
                    Some(d) => Processing::Direct(d),
                    None => Processing::Local(processor(&None)?),
                };
                let background = options.background;
                let task = self.task(plan, id, processing, options, saved, resume);
                if background {
                    return self.start_background(task).map(CopyOutcome::Background);
                }
                let mode = task.plan.mode;
                let handle = self.start(task)?;
                if !hooks.after.is_empty() || !hooks.checks.is_empty() {
                    self.keep_hooks(handle, hooks, &loc);
                }
                if self.settings.borrow().parallel > 1 {
                    let started = Started { handle, name, mode };
                    self.running
                        .borrow_mut()
                        .pending
                        .push((handle, started.name.clone(), mode));
                    return Ok(CopyOutcome::Running(started));
                }
                self.wait(handle, &name, mode).map(CopyOutcome::Done)
            }
        }
    }

    /// The tables, the sample page and the plan; `None` when a problem was recorded.
    pub(super) fn resolve_copy(
        &self,
        mut spec: CopySpec,
        transform: Option<&dyn Transform>,
    ) -> Result<Option<Resolved>> {
        let name = spec.name();
        let loc = spec.location.clone();
        let src = self.session(Role::Source, None)?;
        let dst = self.session(Role::Target, None)?;
        let mut problems = Vec::new();
        let source = problems::table_or_problem(&src, &spec.from, Role::Source, &mut problems)?;
        let planned = self.record.borrow().planned_targets.get(&spec.to).cloned();
        let target = match planned.filter(|_| self.host.pass == Pass::Plan) {
            Some(t) => Some(t),
            None => problems::table_or_problem(&dst, &spec.to, Role::Target, &mut problems)?,
        };
        let (Some(source), Some(mut target)) = (source, target) else {
            self.refuse(&loc, &name, problems)?;
            return Ok(None);
        };
        {
            // Triggers a copy of many tables drops for its data and makes again after.
            let remade = &self.record.borrow().remade_triggers;
            target
                .triggers
                .retain(|t| !remade.contains(&(spec.to.clone(), t.name.clone())));
        }
        let mut sample = Vec::new();
        let fields_key = format!("{loc}|{}|{}", spec.from, spec.to);
        let known = self.record.borrow().sample_fields.get(&fields_key).cloned();
        if let Some(fields) = known.filter(|_| self.host.pass != Pass::Plan) {
            spec.sample_fields = fields;
        } else if self.host.pass == Pass::Plan || spec.has_transform {
            match self.read_sample(&src, &source, &spec) {
                Ok(rows) => sample = rows,
                Err(problem) => {
                    self.refuse(&loc, &name, vec![problem?])?;
                    return Ok(None);
                }
            }
            if let (Some(t), true) = (transform, spec.has_transform) {
                spec.sample_fields = t.sample_fields(&source, &sample)?;
            }
            self.record
                .borrow_mut()
                .sample_fields
                .insert(fields_key, spec.sample_fields.clone());
        }
        if self.host.flags.verify {
            // Verify writes nothing: no trigger fires.
            spec.accept.triggers = true;
        }
        match resolve(&spec, &source, &target) {
            Ok(plan) => Ok(Some(Resolved { plan, sample })),
            Err(problems) => {
                self.refuse(&loc, &name, problems)?;
                Ok(None)
            }
        }
    }

    /// A sample page of the source, bounded by bytes as well as rows (100 rows of 4 MB
    /// BLOBs are not a sample). `Err(Ok(problem))`: the read failed on the server.
    fn read_sample(
        &self,
        src: &Rc<RefCell<Db>>,
        source: &TableInfo,
        spec: &CopySpec,
    ) -> std::result::Result<Vec<Vec<Value>>, Result<String>> {
        let query = SourceQuery::for_table(source, spec.filter.clone());
        let page_bytes = self.settings.borrow().page_bytes;
        let read = {
            let mut db = src.borrow_mut();
            query
                .page_sql(None, SAMPLE_ROWS.min(spec.page))
                .and_then(|sql| {
                    crate::db::read::read_page(&mut db, sql, page_bytes)
                        .map_err(|e| db.err(&format!("reading {}", source.name), e))
                })
        };
        match read {
            Ok((rows, _)) => Ok(rows),
            Err(Error::Database { message, .. }) => Err(Ok(format!(
                "reading the source failed{}: {message}",
                if spec.filter.is_some() {
                    " (check `where`)"
                } else {
                    ""
                }
            ))),
            Err(e) => Err(Err(e)),
        }
    }

    /// The saved state this run continues from (`--resume`), or why it cannot.
    fn reconcile(
        &self,
        plan: &CopyPlan,
        name: &str,
        saved: Option<CopyState>,
        problems: &mut Vec<String>,
    ) -> Option<CopyState> {
        let flags = self.host.flags;
        let resume = match saved {
            Some(st) if flags.resume => {
                if st.plan != plan.fingerprint() && !flags.force {
                    problems.push(format!(
                        "it changed since its state was written, so it cannot resume \
                         (state: {}; job now: {}); run with --force to start this copy over, \
                         or without --resume to start the job over",
                        st.plan,
                        plan.fingerprint()
                    ));
                    None
                } else if st.plan != plan.fingerprint() {
                    log::warn!(
                        "copy {name}: changed since its state was written; --force: starting \
                         it over"
                    );
                    Some(CopyState {
                        mark: st.mark,
                        ..Default::default()
                    })
                } else {
                    Some(st)
                }
            }
            _ => None,
        };
        let file_store = matches!(self.settings.borrow().store, StateStore::File(_));
        problems.extend(problems::resume_refusal(plan, resume.as_ref(), file_store));
        resume
    }

    /// An incremental copy's window: it opens at the mark the state kept (not with
    /// --full). A replay reads rows by key: no window, and the mark stays as it was.
    fn since(
        &self,
        options: &CopyOptions,
        saved: Option<&CopyState>,
        resume: Option<&CopyState>,
    ) -> Option<Since> {
        let column = options
            .since
            .clone()
            .filter(|_| self.host.replay.is_none())?;
        Some(Since {
            column,
            overlap: options.since_overlap.clone(),
            after: if self.host.flags.full {
                None
            } else {
                resume
                    .and_then(|r| r.mark.clone())
                    .or_else(|| saved.and_then(|s| s.mark.clone()))
            },
        })
    }

    /// The engine's task for a checked plan.
    fn task(
        &self,
        plan: CopyPlan,
        id: String,
        processing: Processing,
        options: CopyOptions,
        saved: Option<CopyState>,
        resume: Option<CopyState>,
    ) -> CopyTask {
        let rejects = self.reject_spec(&id, &options.rejects);
        let settings = self.settings.borrow();
        let kept_mark = saved.as_ref().and_then(|s| s.mark.clone());
        let since = self.since(&options, saved.as_ref(), resume.as_ref());
        CopyTask {
            plan,
            id,
            processing,
            workers: options.workers.unwrap_or(settings.workers),
            limits: options.limits,
            since,
            resume,
            kept_mark,
            method: options.method.unwrap_or(settings.method),
            defer_indexes: options.defer_indexes.or(settings.defer_indexes),
            deferred_before: saved.and_then(|s| s.deferred),
            rejects,
            emits: options.emits,
        }
    }

    /// The verify pass's copy: compares source and target and records the report. The
    /// rows the transform emits into other tables (`emits`) are not compared: the
    /// report says so.
    fn verify_copy(
        &self,
        plan: &CopyPlan,
        processor: &mut dyn RowProcessor,
        emits: &[EmitSpec],
    ) -> Result<Verified> {
        let src = self.session(Role::Source, None)?;
        let dst = self.session(Role::Target, None)?;
        let busy = |_| Error::usage("copy cannot run inside another copy's transform");
        let report = {
            let options = self.record.borrow().verify.options;
            let mut report = if crate::verify::needs_processor(plan) {
                // The transform's lookups ask through the job's sessions: the comparison
                // reads through sessions of its own, as a run's pipeline does.
                let own = |db: &Rc<RefCell<Db>>, role| {
                    let spec = db.try_borrow_mut().map_err(busy)?.spec.clone();
                    Db::connect(&spec, role)
                };
                let (mut s, mut d) = (own(&src, Role::Source)?, own(&dst, Role::Target)?);
                crate::verify::verify_copy(plan, &mut s, &mut d, Some(processor), &options)?
            } else {
                let mut s = src.try_borrow_mut().map_err(busy)?;
                let mut d = dst.try_borrow_mut().map_err(busy)?;
                crate::verify::verify_copy(plan, &mut s, &mut d, None, &options)?
            };
            if !emits.is_empty() {
                let tables: Vec<&str> = emits.iter().map(|e| e.table.as_str()).collect();
                report.notes.push(format!(
                    "not compared: the rows the transform emits into {}",
                    tables.join(", ")
                ));
            }
            report
        };
        let verified = Verified {
            stats: CopyStats {
                read: report.source_rows,
                written: report.target_rows,
                skipped: report.skipped,
                seconds: report.seconds,
                ..CopyStats::default()
            },
            equal: report.is_equal(),
            missing: report.missing.count,
            extra: report.extra.count,
            changed: report.changed.count,
        };
        self.record.borrow_mut().verify.record(report);
        Ok(verified)
    }
}
