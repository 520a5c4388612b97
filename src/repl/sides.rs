//! The two sides of the prompt: `src` and `dst` bound to the open sessions, or, while a
//! side is not connected, to a stand-in whose every use says how to connect it;
//! connecting at start-up (a failure reported as `ferry run` reports it, the prompt
//! opening anyway), `.connect src|dst URL`, and the prompt that shows which sides are
//! connected.

use std::rc::Rc;

use mlua::{Lua, MetaMethod, UserData, UserDataMethods, Value as LuaValue};

use crate::conn_spec::ConnSpec;
use crate::db::Role;
use crate::error::Error;
use crate::job::{Job, Pass};
use crate::lua::handles::DbHandle;

/// `src` or `dst` while that side has no session.
pub struct Unconnected {
    pub name: &'static str,
}

impl Unconnected {
    fn message(&self) -> String {
        format!("{n} is not connected: .connect {n} URL", n = self.name)
    }
}

impl UserData for Unconnected {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_meta_method(MetaMethod::Index, |_, this, _key: LuaValue| {
            Err::<LuaValue, _>(mlua::Error::runtime(this.message()))
        });
        methods.add_meta_method(MetaMethod::ToString, |_, this, ()| {
            Ok(format!("{} (not connected)", this.name))
        });
    }
}

pub const SIDES: [(&str, Role); 2] = [("src", Role::Source), ("dst", Role::Target)];

/// The global name of a side (`src`, `dst`) from what the user typed.
pub fn side_named(word: &str) -> Option<Role> {
    match word {
        "src" | "source" => Some(Role::Source),
        "dst" | "target" => Some(Role::Target),
        _ => None,
    }
}

pub fn global_name(role: Role) -> &'static str {
    match role {
        Role::Source => "src",
        Role::Target => "dst",
    }
}

/// Opens the sides `--source`/`--target` (or `FERRY_SOURCE`/`FERRY_TARGET`) name and
/// the job did not open; a side that cannot connect is reported as `ferry run` reports
/// it and stays unset.
pub fn connect_at_start(ctx: &Job) {
    for (_, role) in SIDES {
        if ctx.open_session(role).is_some() || ctx.override_for(role).is_none() {
            continue;
        }
        if let Err(e) = ctx.session(role, None) {
            report(&e);
        }
    }
}

/// An error as `ferry run` prints it (its URLs masked once more).
pub fn report(e: &Error) {
    eprintln!("error: {}", crate::conn_spec::mask_urls(&e.to_string()));
}

/// `.connect src|dst URL`: (re)connects one side; the old session stays when the new
/// one cannot be opened.
pub fn connect(ctx: &Job, args: &str) -> Result<String, Error> {
    let usage =
        || Error::usage(".connect takes a side and a URL: .connect src|dst mysql://user@host/db");
    let mut words = args.split_whitespace();
    let role = words.next().and_then(side_named).ok_or_else(usage)?;
    let url = words.next().ok_or_else(usage)?;
    if words.next().is_some() {
        return Err(usage());
    }
    let spec = ConnSpec::parse(url).map_err(|m| Error::usage(format!(".connect: {m}")))?;
    let db = ctx.session(role, Some(spec))?;
    let db = db.borrow();
    Ok(format!(
        "{} connected: {} ({})",
        global_name(role),
        db.spec,
        db.version
    ))
}

/// Binds `src` and `dst` to the open sessions, or to the stand-in while a side has
/// none. A global the user set to something else is left alone.
pub fn bind(state: &Lua, ctx: &Rc<Job>) {
    let g = state.globals();
    for (name, role) in SIDES {
        let ours = match g.get::<LuaValue>(name) {
            Ok(LuaValue::Nil) => true,
            Ok(LuaValue::UserData(ud)) => ud.is::<DbHandle>() || ud.is::<Unconnected>(),
            _ => false,
        };
        if !ours {
            continue;
        }
        let current = match g.get::<LuaValue>(name) {
            Ok(LuaValue::UserData(ud)) => ud.borrow::<DbHandle>().ok().map(|h| h.db.clone()),
            _ => None,
        };
        let open = ctx.open_session(role);
        let value = match (open, current) {
            (Some(db), Some(cur)) if Rc::ptr_eq(&db, &cur) => continue,
            (Some(db), _) => state.create_userdata(DbHandle {
                db,
                pass: Pass::Real,
            }),
            (None, _) => state.create_userdata(Unconnected { name }),
        };
        if let Ok(ud) = value {
            let _ = g.set(name, ud);
        }
    }
}

/// The prompt: which sides are connected, and the SQL mode when one is on.
pub fn prompt(ctx: &Job, sql_side: Option<Role>) -> String {
    let side = |role: Role| {
        let name = global_name(role);
        if ctx.open_session(role).is_some() {
            name.to_string()
        } else {
            format!("no {name}")
        }
    };
    let sides = format!("{}, {}", side(Role::Source), side(Role::Target));
    match sql_side {
        Some(role) => format!("ferry [{sides}] sql {}> ", global_name(role)),
        None => format!("ferry [{sides}]> "),
    }
}

/// The open sessions as a Ctrl-C needs them: spec, side and server session id.
pub fn busy_sessions(ctx: &Job) -> Vec<crate::repl::cancel::Busy> {
    SIDES
        .iter()
        .filter_map(|(_, role)| ctx.open_session(*role).map(|db| (*role, db)))
        .filter_map(|(role, db)| {
            db.try_borrow().ok().map(|d| crate::repl::cancel::Busy {
                spec: d.spec.clone(),
                role,
                id: d.connection_id(),
            })
        })
        .collect()
}
