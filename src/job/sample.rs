//! A subset for a test environment (`sample{}`): the closure of the seed rows over the
//! source's foreign keys (`plan::sample`, read through `db::closure`) as a key set per
//! table, then each table copied in load order (parents first) through `Job::copy`
//! with a `where` that selects exactly its keys, so every copy stays keyset-paged,
//! checkpointed and resumable. The key sets are found once per run, in the plan pass,
//! and frozen in the job's state by the real pass before its first page, so
//! `--resume` (and `ferry verify`) select the very rows the first run chose, even when
//! `where` moves with the clock. With `create`, tables are made as a copy of many
//! tables makes them, foreign keys added after the data; at the end every foreign key
//! between the sample's tables is checked on the target.

use std::collections::{BTreeMap, HashMap};

use crate::db::closure::{key_filter, Step};
use crate::db::relations::ForeignKey;
use crate::db::sample_state::FrozenSample;
use crate::db::schema::{ColumnInfo, TableInfo};
use crate::db::state::{key_from_state, key_to_state};
use crate::db::{Db, Role};
use crate::error::{Error, Result};
use crate::job::{CopyOutcome, CopyRequest, Job, Pass, TableCopy, Transform};
use crate::plan::order::load_order;
use crate::plan::sample::{
    closure, sample_tables, Key, KeyFinder, KeySet, SamplePlan, SampleSpec, SampleTable,
};
use crate::plan::Create;

/// One `sample{}`: what it selects, whether it creates the tables, and the copy every
/// table's copy starts from (mode, page, ...).
#[derive(Debug, Clone)]
pub struct SampleRequest {
    pub spec: SampleSpec,
    pub create: Create,
    /// `objects = true`: routines, views and the tables' triggers made after the data.
    pub objects: bool,
    pub base: CopyRequest,
}

/// A table's own copy in a sample (`tables = { customers = { mask = ... } }`).
pub struct OwnCopy<'a> {
    pub request: CopyRequest,
    pub transform: Option<&'a dyn Transform>,
}

/// The source, as a sample's key finder.
struct SourceKeys<'a> {
    db: &'a mut Db,
    scope: &'a Scope,
    spec: &'a SampleSpec,
}

impl SourceKeys<'_> {
    fn key(&self, table: &str) -> &[String] {
        self.scope.key_columns.get(table).map_or(&[], Vec::as_slice)
    }

    /// The key columns of `table`, as the source defines them.
    fn key_info(&self, table: &str) -> Vec<ColumnInfo> {
        let info = &self.scope.infos[table];
        self.key(table)
            .iter()
            .filter_map(|c| info.column(c).cloned())
            .collect()
    }
}

impl KeyFinder for SourceKeys<'_> {
    fn seed(&mut self) -> Result<Vec<Key>> {
        let key = self.key(&self.spec.from).to_vec();
        let s = self.spec;
        self.db
            .seed_keys(&s.from, &key, s.filter.as_deref(), s.percent, s.limit)
    }

    fn parents(&mut self, fk: &ForeignKey, keys: &[Key]) -> Result<Vec<Key>> {
        let (from_key, to_key) = (self.key_info(&fk.table), self.key(&fk.parent).to_vec());
        let on = fk.columns.iter().zip(&fk.parent_columns);
        let step = Step {
            from: &fk.table,
            from_key: &from_key,
            to: &fk.parent,
            to_key: &to_key,
            on: on.map(|(c, p)| (c.as_str(), p.as_str())).collect(),
        };
        self.db.related_keys(&step, keys)
    }

    fn children(&mut self, fk: &ForeignKey, keys: &[Key]) -> Result<Vec<Key>> {
        let (from_key, to_key) = (self.key_info(&fk.parent), self.key(&fk.table).to_vec());
        let on = fk.parent_columns.iter().zip(&fk.columns);
        let step = Step {
            from: &fk.parent,
            from_key: &from_key,
            to: &fk.table,
            to_key: &to_key,
            on: on.map(|(p, c)| (p.as_str(), c.as_str())).collect(),
        };
        self.db.related_keys(&step, keys)
    }
}

/// What the sample found about its tables before choosing rows.
struct Scope {
    keys: Vec<ForeignKey>,
    infos: BTreeMap<String, TableInfo>,
    key_columns: BTreeMap<String, Vec<String>>,
}

/// The sample's tables in load order, as its plan shows them.
fn sample_tables_in_order(
    spec: &SampleSpec,
    levels: &[Vec<String>],
    sets: &BTreeMap<String, KeySet>,
    action: &dyn Fn(&str) -> &'static str,
) -> Vec<SampleTable> {
    let mut tables = Vec::new();
    for (level, names) in levels.iter().enumerate() {
        for t in names {
            let role = if t == &spec.from {
                "seed"
            } else if spec.children.contains(t) {
                "children"
            } else {
                "parent"
            };
            tables.push(SampleTable {
                name: t.clone(),
                level,
                rows: sets[t].len(),
                role,
                action: action(t),
            });
        }
    }
    tables
}

impl Job {
    /// Runs a sample: key sets, then one copy per table in load order (a table's own
    /// copy in `own`); the outcomes by table.
    pub fn sample(
        &self,
        req: SampleRequest,
        own: HashMap<String, OwnCopy<'_>>,
    ) -> Result<Vec<(String, CopyOutcome)>> {
        let spec = &req.spec;
        let (loc, label) = (spec.location.clone(), format!("sample {}", spec.from));
        let scope = match self.sample_scope(spec, &own)? {
            Ok(s) => s,
            Err(problems) => {
                self.refuse(&loc, &label, problems)?;
                return Ok(Vec::new());
            }
        };
        let id = self.copy_id(&label);
        let (sets, frozen) = match self.sample_keys(spec, &scope, &id)? {
            Ok(found) => found,
            Err(problem) => {
                self.refuse(&loc, &label, vec![problem])?;
                return Ok(Vec::new());
            }
        };
        let tables: Vec<String> = sets.keys().cloned().collect();
        let order = load_order(&tables, &scope.keys);
        let on_target = self.target_tables()?;
        let action = |t: &str| match req.create {
            Create::No => "",
            Create::Missing if on_target.contains(&t.to_string()) => "",
            Create::Missing => "created",
            Create::Replace => "replaced",
        };
        if req.create == Create::No {
            let missing: Vec<String> = tables
                .iter()
                .filter(|t| !on_target.contains(t))
                .map(|t| format!("the target has no table `{t}`: create it, or add create = true"))
                .collect();
            if !missing.is_empty() {
                self.refuse(&loc, &label, missing)?;
                return Ok(Vec::new());
            }
        }
        if self.host.pass == Pass::Plan {
            let (objects, not_copied, problems) = self.plan_objects(&tables, req.objects)?;
            let plan = SamplePlan {
                location: loc.clone(),
                from: spec.from.clone(),
                cycles: order.cycles.clone(),
                frozen,
                tables: sample_tables_in_order(spec, &order.levels, &sets, &action),
                objects,
                not_copied,
            };
            self.record.borrow_mut().samples.push(plan);
            self.refuse(&loc, &label, problems)?;
        }
        if self.host.pass == Pass::Real && !frozen {
            self.freeze_sample(spec, &id, &sets)?;
        }
        let requests: HashMap<String, (CopyRequest, Option<&dyn Transform>)> = tables
            .iter()
            .map(|t| {
                let (mut request, transform) = match own.get(t) {
                    Some(o) => (o.request.clone(), o.transform),
                    None => (req.base.clone(), None),
                };
                request.spec.from = t.clone();
                request.spec.to = t.clone();
                let info = &scope.infos[t];
                let cols: Vec<_> = scope.key_columns[t]
                    .iter()
                    .filter_map(|c| info.column(c))
                    .collect();
                request.spec.filter = Some(key_filter(&cols, sets[t].keys()));
                (t.clone(), (request, transform))
            })
            .collect();
        let copies: HashMap<String, TableCopy<'_>> = requests
            .iter()
            .map(|(t, (request, transform))| {
                let c = TableCopy {
                    request,
                    transform: *transform,
                };
                (t.clone(), c)
            })
            .collect();
        let outcomes = self.copy_levels(&req.base, &copies, &order, &action)?;
        if self.host.pass == Pass::Real {
            if req.create != Create::No {
                self.add_missing_foreign_keys(&tables)?;
            }
            self.check_references(&label, &scope.keys, &tables)?;
            if req.objects {
                self.create_objects(&tables, true)?;
            }
        }
        Ok(outcomes)
    }

    /// The source's foreign keys, the sample's tables and their keys; or the problems:
    /// an unknown table, a `children` table the sample never reaches, a table without
    /// a key, a table's own options for a table outside the sample.
    fn sample_scope(
        &self,
        spec: &SampleSpec,
        own: &HashMap<String, OwnCopy<'_>>,
    ) -> Result<std::result::Result<Scope, Vec<String>>> {
        let src = self.session(Role::Source, None)?;
        let mut src = src.borrow_mut();
        let db = src.database().to_string();
        let names: Vec<String> = src.tables()?.into_iter().map(|t| t.name).collect();
        let mut problems = Vec::new();
        for t in std::iter::once(&spec.from).chain(&spec.children) {
            if !names.contains(t) {
                let hint = crate::db::schema::did_you_mean(t, names.iter().map(String::as_str));
                problems.push(format!("`{t}` is not a source table{hint}"));
            }
        }
        if !problems.is_empty() {
            return Ok(Err(problems));
        }
        let keys: Vec<ForeignKey> = src
            .foreign_keys()?
            .into_iter()
            .filter(|k| k.parent_database == db)
            .collect();
        let tables = sample_tables(spec, &keys);
        for c in spec.children.iter().filter(|c| !tables.contains(*c)) {
            problems.push(format!(
                "children names `{c}`, which references neither `{}` nor another children \
                 table through a foreign key",
                spec.from
            ));
        }
        let mut names: Vec<&String> = own.keys().collect();
        names.sort();
        for t in names.into_iter().filter(|t| !tables.contains(*t)) {
            problems.push(format!(
                "tables.{t}: `{t}` is not among the sample's tables ({})",
                tables.iter().cloned().collect::<Vec<_>>().join(", ")
            ));
        }
        let mut scope = Scope {
            keys,
            infos: BTreeMap::new(),
            key_columns: BTreeMap::new(),
        };
        for t in &tables {
            let Some(info) = src.table_info(t)? else {
                problems.push(format!("`{t}` is not a source table"));
                continue;
            };
            match info.paging_key() {
                Some(k) => {
                    scope.key_columns.insert(t.clone(), k.columns.clone());
                }
                None => problems.push(format!(
                    "`{t}` has no primary key (nor a unique key over NOT NULL columns): a \
                     sample cannot name its rows"
                )),
            }
            scope.infos.insert(t.clone(), info);
        }
        Ok(if problems.is_empty() {
            Ok(scope)
        } else {
            Err(problems)
        })
    }

    /// The key sets: found in this run's plan pass, frozen by an earlier run (with
    /// `--resume`, and for `ferry verify`), or found now; and whether they were frozen.
    #[allow(clippy::type_complexity)]
    fn sample_keys(
        &self,
        spec: &SampleSpec,
        scope: &Scope,
        id: &str,
    ) -> Result<std::result::Result<(BTreeMap<String, KeySet>, bool), String>> {
        // `ferry verify`'s plan pass cannot tell it is verify's: its keys are not used.
        let verify = self.host.pass == Pass::Verify;
        let earlier = match verify {
            true => None,
            false => self.record.borrow().found_samples.get(id).cloned(),
        };
        let use_state = self.host.flags.resume || verify;
        let (frozen, was_frozen) = match earlier {
            Some(found) => found,
            None if use_state => {
                self.saved_state()?;
                let dst = self.session(Role::Target, None)?;
                let handle = self.state_handle()?;
                let loaded = handle.load_sample(&mut dst.borrow_mut(), id)?;
                match loaded {
                    Some(f) if f.spec == spec.fingerprint() => (f, true),
                    Some(f) if !verify && !self.host.flags.force => {
                        return Ok(Err(format!(
                            "it changed since its keys were chosen, so it cannot resume \
                             (then: {}; now: {}); run with --force to choose its rows again, \
                             or without --resume to start the job over",
                            f.spec,
                            spec.fingerprint()
                        )));
                    }
                    _ => match self.find_sample(spec, scope)? {
                        Ok(f) => (f, false),
                        Err(p) => return Ok(Err(p)),
                    },
                }
            }
            None => match self.find_sample(spec, scope)? {
                Ok(f) => (f, false),
                Err(p) => return Ok(Err(p)),
            },
        };
        self.record
            .borrow_mut()
            .found_samples
            .insert(id.to_string(), (frozen.clone(), was_frozen));
        let mut sets = BTreeMap::new();
        for t in scope.infos.keys() {
            let mut set = KeySet::default();
            for k in frozen.tables.get(t).into_iter().flatten() {
                set.insert(key_from_state(k));
            }
            sets.insert(t.clone(), set);
        }
        Ok(Ok((sets, was_frozen)))
    }

    /// The key sets, found on the source now.
    fn find_sample(
        &self,
        spec: &SampleSpec,
        scope: &Scope,
    ) -> Result<std::result::Result<FrozenSample, String>> {
        let src = self.session(Role::Source, None)?;
        let mut db = src.borrow_mut();
        let mut finder = SourceKeys {
            db: &mut db,
            scope,
            spec,
        };
        let started = std::time::Instant::now();
        let sets = match closure(spec, &scope.keys, &mut finder) {
            Ok(Ok(sets)) => sets,
            Ok(Err(problem)) => return Ok(Err(problem)),
            Err(Error::Database { message, .. }) => {
                return Ok(Err(format!(
                    "choosing the sample's rows failed{}: {message}",
                    if spec.filter.is_some() {
                        " (check `where`)"
                    } else {
                        ""
                    }
                )))
            }
            Err(e) => return Err(e),
        };
        let rows: usize = sets.values().map(|s| s.len()).sum();
        log::info!(
            "sample {}: {rows} rows in {} tables chosen in {:.1}s",
            spec.from,
            sets.len(),
            started.elapsed().as_secs_f64()
        );
        Ok(Ok(FrozenSample {
            spec: spec.fingerprint(),
            tables: sets
                .into_iter()
                .map(|(t, s)| (t, s.keys().iter().map(|k| key_to_state(k)).collect()))
                .collect(),
        }))
    }

    /// Records the key sets in the job's state, before the sample's first page.
    fn freeze_sample(
        &self,
        spec: &SampleSpec,
        id: &str,
        sets: &BTreeMap<String, KeySet>,
    ) -> Result<()> {
        // The state is written only by the run that holds the job's lock.
        self.saved_state()?;
        let frozen = FrozenSample {
            spec: spec.fingerprint(),
            tables: sets
                .iter()
                .map(|(t, s)| {
                    (
                        t.clone(),
                        s.keys().iter().map(|k| key_to_state(k)).collect(),
                    )
                })
                .collect(),
        };
        let dst = self.session(Role::Target, None)?;
        let handle = self.state_handle()?;
        let mut dst = dst.borrow_mut();
        handle.save_sample(&mut dst, id, &frozen)
    }

    fn target_tables(&self) -> Result<Vec<String>> {
        let dst = self.session(Role::Target, None)?;
        let names = dst.borrow_mut().tables()?;
        Ok(names.into_iter().map(|t| t.name).collect())
    }

    /// Every foreign key between the sample's tables resolves on the target (the
    /// target session writes with foreign_key_checks off, so this is the proof).
    fn check_references(&self, label: &str, keys: &[ForeignKey], tables: &[String]) -> Result<()> {
        let dst = self.session(Role::Target, None)?;
        let mut dst = dst.borrow_mut();
        let mut broken = Vec::new();
        for k in keys
            .iter()
            .filter(|k| tables.contains(&k.table) && tables.contains(&k.parent))
        {
            let n = dst.orphans(&k.table, &k.columns, &k.parent, &k.parent_columns)?;
            if n > 0 {
                broken.push(format!(
                    "{n} row{} of `{}` reference{} a row of `{}` the target lacks (foreign key \
                     {})",
                    if n == 1 { "" } else { "s" },
                    k.table,
                    if n == 1 { "s" } else { "" },
                    k.parent,
                    k.name
                ));
            }
        }
        if broken.is_empty() {
            log::info!("{label}: every foreign key between its tables resolves on the target");
            return Ok(());
        }
        Err(Error::Check {
            message: format!(
                "{label}: the target is not referentially complete: {}",
                broken.join("; ")
            ),
        })
    }
}
