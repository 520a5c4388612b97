//! A copy of many tables in Lua (`copy{tables = "*", exclude = {...}, create = true}`):
//! `tables`, `exclude` and `create` read into a `TableSelection`, the options that
//! would apply to every table alike refused, and the outcomes of its copies turned
//! into one stats table (the sums, and each table's own under `tables`).

use std::rc::Rc;

use mlua::{Lua, Table, Value as LuaValue};

use crate::engine::CopyStats;
use crate::job::{CopyOutcome, Job};
use crate::lua::copy::stats_table;
use crate::lua::options::{show, Options};
use crate::plan::{Create, TableSelection};

/// Options a copy of many tables (`tables = ...`) refuses: they would apply to every
/// table alike.
const NOT_WITH_TABLES: &[&str] = &[
    "from",
    "to",
    "where",
    "map",
    "default",
    "transform",
    "before",
    "after",
    "check",
];

/// `tables`, `exclude` and `create`: a copy of many tables, with what it refuses.
pub(crate) fn read_selection(t: &Table, o: &mut Options) -> Option<TableSelection> {
    let given = |k: &str| !matches!(t.get::<LuaValue>(k), Ok(LuaValue::Nil) | Err(_));
    if !given("tables") {
        for k in ["exclude", "create"] {
            if given(k) {
                o.problem(format!(
                    "copy: `{k}` needs `tables` (a copy of many tables)"
                ));
            }
        }
        return None;
    }
    let noun = "table names or globs";
    let include = o.names("tables", noun, &["\"*\"", "\"order_*\""]);
    let exclude = o.names("exclude", noun, &["\"audit\"", "\"*_log\""]);
    let first = matches!(t.raw_get::<LuaValue>(1), Ok(LuaValue::String(_)));
    for k in NOT_WITH_TABLES {
        if given(k) || (*k == "from" && first) {
            o.problem(format!(
                "copy: `{k}` is not allowed with `tables` (it would apply to every table \
                 alike); copy such a table in a copy of its own and leave it out with \
                 `exclude`"
            ));
        }
    }
    let create = match o.value("create") {
        None | Some(LuaValue::Boolean(false)) => Create::No,
        Some(LuaValue::Boolean(true)) => Create::Missing,
        Some(LuaValue::String(s)) if s.to_string_lossy() == "replace" => Create::Replace,
        Some(other) => {
            o.problem(format!(
                "copy: `create` must be true, false or \"replace\", not {}",
                show(&other)
            ));
            Create::No
        }
    };
    Some(TableSelection {
        include,
        exclude,
        create,
    })
}

/// A copy of many tables' stats: the sums, and `tables`, each table's own stats (in
/// the verify pass, `equal` is whether every table is).
pub(crate) fn stats(
    lua: &Lua,
    job: &Rc<Job>,
    outcomes: Vec<(String, CopyOutcome)>,
) -> mlua::Result<Table> {
    let each = lua.create_table()?;
    let mut total = CopyStats::default();
    let (mut equal, mut missing, mut extra, mut changed) = (true, 0, 0, 0);
    for (name, outcome) in outcomes {
        let stats = match outcome {
            CopyOutcome::Planned => CopyStats::default(),
            CopyOutcome::Done(s) => s,
            CopyOutcome::Running(s) => job
                .wait(s.handle, &s.name, s.mode)
                .map_err(mlua::Error::external)?,
            CopyOutcome::Verified(v) => {
                equal &= v.equal;
                missing += v.missing;
                extra += v.extra;
                changed += v.changed;
                v.stats
            }
        };
        total.read += stats.read;
        total.written += stats.written;
        total.inserted += stats.inserted;
        total.updated += stats.updated;
        total.unchanged += stats.unchanged;
        total.ignored += stats.ignored;
        total.conflicts += stats.conflicts;
        total.skipped += stats.skipped;
        total.seconds += stats.seconds;
        total.resumed |= stats.resumed;
        each.set(name, stats_table(lua, &stats)?)?;
    }
    let t = stats_table(lua, &total)?;
    t.set("tables", each)?;
    if job.pass() == crate::job::Pass::Verify {
        t.set("equal", equal)?;
        t.set("missing", missing)?;
        t.set("extra", extra)?;
        t.set("changed", changed)?;
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use crate::lua::copy::tests::parse;
    use crate::plan::{Create, Mode};

    #[test]
    fn tables_make_a_selection_and_refuse_what_cannot_apply_to_every_table() {
        let a = parse(
            "return { tables = {'users', 'order_*'}, exclude = '*_log', create = 'replace', \
               mode = 'upsert', page = 10 }",
        )
        .ok()
        .unwrap();
        let sel = a.selection.unwrap();
        assert_eq!(sel.include, ["users", "order_*"]);
        assert_eq!(sel.exclude, ["*_log"]);
        assert_eq!(sel.create, Create::Replace);
        assert_eq!((a.spec.mode, a.spec.page), (Mode::Upsert, 10));
        let p = parse("return { 'users', tables = '*', transform = function(r) return r end }")
            .err()
            .unwrap();
        assert!(
            p[0].starts_with("copy: `from` is not allowed with `tables`"),
            "{p:?}"
        );
        assert!(
            p[1].starts_with("copy: `transform` is not allowed with `tables`"),
            "{p:?}"
        );
        let p = parse("return { from = 'users', exclude = 'x', create = true }")
            .err()
            .unwrap();
        assert_eq!(
            p,
            [
                "copy: `exclude` needs `tables` (a copy of many tables)",
                "copy: `create` needs `tables` (a copy of many tables)"
            ]
        );
        let p = parse("return { tables = 5 }").err().unwrap();
        assert!(p[0].contains("tables"), "{p:?}");
    }
}
