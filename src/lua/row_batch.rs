//! A page's rows through the Lua processor (`RowProcessor` for `LuaProcessor`): one by
//! one, or, when the job has lookups that ask keys, together: each row's transform runs
//! as a coroutine, a lookup call whose key is not known yields
//! (`lookup_batch::wrap`), and when every row of the page has finished or is waiting,
//! the keys they wait for are asked in one query per lookup
//! (`lookup_batch::ask_wanted`) and the waiting rows resume, until all are done. Rows
//! start in order and their results are kept in order; each waiting row keeps its own
//! row state and emitted rows aside while others run.

use std::sync::Arc;

use mlua::{Table, Thread, Value as LuaValue};

use crate::db::wire::RawLayout;
use crate::db::Value;
use crate::engine::{
    rows_one_by_one, undecoded_one_by_one, Emitted, Extra, PageResult, Processed, RowProcessor,
    TransformError,
};
use crate::lua::errors::RowFailure;
use crate::lua::lookup_batch::{self, Yielding};
use crate::lua::processor::{returned, LuaProcessor, RowState};
use crate::plan::column_map::Arrangement;

/// A source row to run.
enum Input<'a> {
    Decoded(Vec<Value>),
    Undecoded(&'a Arc<RawLayout>, &'a [u8]),
}

/// A row whose transform is running or waiting for a lookup's keys.
struct Running {
    thread: Thread,
    table: Table,
    ptr: *const std::ffi::c_void,
    undecoded: bool,
    /// Rows it emitted so far.
    emitted: Vec<Emitted>,
    /// The lookup (its id) and key it waits for.
    wait: Option<(u64, Value)>,
    /// Its row state while other rows run (boxed: a row that runs to its end, the
    /// common case, moves no state).
    state: Option<Box<RowState>>,
}

enum Step {
    Waiting(Running),
    Done(Result<Processed, RowFailure>, Extra),
}

type Made = (Result<Processed, RowFailure>, Extra);

impl LuaProcessor {
    /// Whether a page's rows run together: a transform, and lookups that ask keys.
    fn batching(&self) -> bool {
        self.transform.is_some() && lookup_batch::any(&self.shared.lua)
    }

    /// Runs a page's rows together (see the module's text); what each made, in order.
    /// With `until_error`, the rows after the first that failed are not started, or not
    /// resumed, and are left out.
    fn run_together(
        &mut self,
        inputs: Vec<Input>,
        until_error: bool,
    ) -> crate::error::Result<Vec<Made>> {
        let lua = self.shared.lua.clone();
        let mut done: Vec<Option<Made>> = (0..inputs.len()).map(|_| None).collect();
        let mut waiting = Vec::new();
        // The first row that failed, when rows after it are not wanted.
        let mut last = inputs.len();
        let mut ended = |at: usize, made: Made, last: &mut usize| {
            if until_error && made.0.is_err() {
                *last = (*last).min(at + 1);
            }
            done[at] = Some(made);
        };
        for (at, input) in inputs.into_iter().enumerate() {
            if at >= last {
                break;
            }
            match self.start(input) {
                Step::Done(made, extra) => ended(at, (made, extra), &mut last),
                Step::Waiting(r) => waiting.push((at, r)),
            }
        }
        while !waiting.is_empty() {
            waiting.retain(|(at, _)| *at < last);
            if waiting.is_empty() {
                break;
            }
            let waits: Vec<_> = waiting
                .iter()
                .filter_map(|(_, r)| {
                    let state = r.state.as_deref()?;
                    r.wait.as_ref().map(|(id, key)| (*id, key, state))
                })
                .collect();
            self.learned.learn(&waits, |st| st.all_values());
            lookup_batch::ask_wanted(&lua)?;
            for (at, mut r) in std::mem::take(&mut waiting) {
                if at >= last {
                    continue;
                }
                let ran = std::mem::replace(
                    &mut *self.shared.state.borrow_mut(),
                    *r.state.take().expect("a waiting row keeps its state"),
                );
                self.spare.push(ran);
                match self.step(r, false) {
                    Step::Done(made, extra) => ended(at, (made, extra), &mut last),
                    Step::Waiting(r) => waiting.push((at, r)),
                }
            }
        }
        Ok(done
            .into_iter()
            .take(last)
            .map(|d| d.expect("every row of the page up to its last ran to its end"))
            .collect())
    }

    /// Starts a row's transform in a coroutine.
    fn start(&mut self, input: Input) -> Step {
        let undecoded = matches!(input, Input::Undecoded(..));
        let started = self.start_row(|st| match input {
            Input::Decoded(row) => st.load(row),
            Input::Undecoded(layout, row) => st.load_undecoded(layout, row),
        });
        let (table, ptr) = match started {
            Ok(t) => t,
            Err(e) => return Step::Done(Err(e), Extra::default()),
        };
        let thread = match self.thread() {
            Ok(t) => t,
            Err(e) => {
                self.shared.state.borrow_mut().table = std::ptr::null();
                return Step::Done(Err(RowFailure::Lua(e)), Extra::default());
            }
        };
        let r = Running {
            thread,
            table,
            ptr,
            undecoded,
            emitted: Vec::new(),
            wait: None,
            state: None,
        };
        self.step(r, true)
    }

    /// A coroutine for a row's transform: a finished one again, or a new one.
    fn thread(&mut self) -> mlua::Result<Thread> {
        let f = self
            .transform
            .clone()
            .expect("rows run together only with a transform");
        if let Some(t) = self.threads.pop() {
            if t.reset(f.clone()).is_ok() {
                return Ok(t);
            }
        }
        let t = self.shared.lua.create_thread(f)?;
        Yielding::get(&self.shared.lua)?
            .ours
            .raw_set(t.clone(), true)?;
        Ok(t)
    }

    /// Runs a row's transform (`first`: given its row table, to start it) until it ends or
    /// waits for a lookup's keys.
    fn step(&mut self, mut r: Running, first: bool) -> Step {
        let lua = self.shared.lua.clone();
        let (resumed, emitted) = self.sink.clone().collecting(|| match first {
            true => r.thread.resume::<LuaValue>(&r.table),
            false => r.thread.resume::<LuaValue>(()),
        });
        r.emitted.extend(emitted);
        let out = match resumed {
            Ok(v) if r.thread.is_resumable() => {
                if lookup_batch::is_pending(&lua, &v) {
                    // `start_row` sets up every part of a state it is given.
                    let spare = self.spare.pop().unwrap_or_default();
                    r.state = Some(Box::new(std::mem::replace(
                        &mut *self.shared.state.borrow_mut(),
                        spare,
                    )));
                    r.wait = lookup_batch::take_wait(&lua);
                    return Step::Waiting(r);
                }
                Err(RowFailure::Raised(mlua::Error::runtime(
                    "the transform called coroutine.yield outside a coroutine of its own",
                )))
            }
            Ok(v) => {
                self.threads.push(r.thread.clone());
                returned(Ok(v))
            }
            Err(e) => returned(Err(e)),
        };
        self.finish(r, out)
    }

    /// What a row whose transform ended made of what it returned.
    fn finish(&mut self, r: Running, out: Result<Option<Table>, RowFailure>) -> Step {
        self.extra = Extra::default();
        let (made, emitted) = self.sink.clone().collecting(|| {
            out.and_then(|out| match r.undecoded {
                true => self.undecoded_made(out, r.ptr),
                false => Ok(match self.fill_made(out, r.ptr)? {
                    Some(values) => Processed::Row(values),
                    None => Processed::Skip,
                }),
            })
        });
        drop(r.table);
        let mut extra = std::mem::take(&mut self.extra);
        extra.emitted = r.emitted;
        extra.emitted.extend(emitted);
        self.shared.state.borrow_mut().table = std::ptr::null();
        Step::Done(made, extra)
    }
}

fn failed(e: RowFailure) -> TransformError {
    TransformError::Failed(Box::new(e))
}

impl RowProcessor for LuaProcessor {
    fn process(&mut self, row: Vec<Value>) -> Result<Option<Vec<Value>>, TransformError> {
        self.run(row).map_err(failed)
    }

    fn process_undecoded(
        &mut self,
        layout: &Arc<RawLayout>,
        row: &[u8],
    ) -> Result<Processed, TransformError> {
        self.run_undecoded(layout, row).map_err(failed)
    }

    fn process_rows(
        &mut self,
        rows: Vec<Vec<Value>>,
        until_error: bool,
    ) -> PageResult<Option<Vec<Value>>> {
        if !self.batching() {
            return rows_one_by_one(self, rows, until_error);
        }
        let made = self
            .run_together(rows.into_iter().map(Input::Decoded).collect(), until_error)
            .map_err(|e| TransformError::Failed(Box::new(e)))?;
        Ok(made
            .into_iter()
            .map(|(made, extra)| {
                let made = made.map_err(failed).map(|p| match p {
                    Processed::Row(values) => Some(values),
                    Processed::Skip | Processed::Untouched => None,
                    Processed::Patched(_) => {
                        unreachable!("decoded rows are filled, only undecoded ones patched")
                    }
                });
                (made, extra)
            })
            .collect())
    }

    fn process_rows_undecoded(
        &mut self,
        layout: &Arc<RawLayout>,
        rows: &[&[u8]],
        until_error: bool,
    ) -> PageResult<Processed> {
        if !self.batching() {
            return undecoded_one_by_one(self, layout, rows, until_error);
        }
        let inputs = rows.iter().map(|r| Input::Undecoded(layout, r)).collect();
        let made = self
            .run_together(inputs, until_error)
            .map_err(|e| TransformError::Failed(Box::new(e)))?;
        Ok(made
            .into_iter()
            .map(|(made, extra)| (made.map_err(failed), extra))
            .collect())
    }

    fn untouched(&self) -> Option<Arrangement> {
        self.untouched.clone()
    }

    fn take_extra(&mut self) -> Extra {
        std::mem::take(&mut self.extra)
    }

    fn page_columns(&mut self) -> Vec<usize> {
        self.prefetch = lookup_batch::for_columns(
            &self.shared.lua,
            &self.source,
            &self.shared.names,
            &self.learned,
        );
        self.prefetch.columns.clone()
    }

    fn begin_page(&mut self, values: &[Vec<Value>]) -> Result<(), TransformError> {
        self.prefetch
            .run(values)
            .map_err(|e| TransformError::Failed(Box::new(e)))
    }
}
