//! The handle `copy{..., background = true}` returns in `ferry repl`: `h:pause()`,
//! `h:resume()`, `h:throttle(rows_per_s)` (`nil` lifts it), `h:stop()` (after the
//! current page), `h:wait()` (the copy's stats, or its error) and `h:status()`.

use std::sync::Arc;

use mlua::{Table, UserData, UserDataMethods};

use crate::job::background::Background;

pub struct BackgroundHandle(pub Arc<Background>);

impl UserData for BackgroundHandle {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        // Lua: h:pause() -> nil
        methods.add_method("pause", |_, h, ()| {
            h.0.pause();
            Ok(())
        });
        // Lua: h:resume() -> nil
        methods.add_method("resume", |_, h, ()| {
            h.0.resume();
            Ok(())
        });
        // Lua: h:throttle(rows_per_second | nil) -> nil
        methods.add_method("throttle", |_, h, rate: Option<f64>| {
            if rate.is_some_and(|r| !(r > 0.0 && r.is_finite())) {
                return Err(mlua::Error::runtime(
                    "throttle takes rows per second above 0, or nil for no limit",
                ));
            }
            h.0.throttle(rate);
            Ok(())
        });
        // Lua: h:stop() -> nil
        methods.add_method("stop", |_, h, ()| {
            h.0.stop();
            Ok(())
        });
        // Lua: h:wait() -> stats table
        methods.add_method("wait", |lua, h, ()| {
            let stats = h.0.wait().map_err(mlua::Error::external)?;
            crate::lua::copy::stats_table(lua, &stats)
        });
        // Lua: h:status() -> {state, rows, total, rows_per_second, eta, limit, error}
        methods.add_method("status", |lua, h, ()| status_table(lua, &h.0));
        methods.add_meta_method(mlua::MetaMethod::ToString, |_, h, ()| {
            let s = h.0.status();
            Ok(format!(
                "background copy {} ({}): {}, {} of ~{} rows",
                s.number,
                s.name,
                s.state.name(),
                s.rows,
                s.total
            ))
        });
    }
}

fn status_table(lua: &mlua::Lua, b: &Background) -> mlua::Result<Table> {
    let s = b.status();
    let t = lua.create_table()?;
    t.set("copy", s.name)?;
    t.set("state", s.state.name())?;
    t.set("rows", s.rows)?;
    t.set("total", s.total)?;
    t.set("rows_per_second", s.rows_per_second)?;
    t.set("eta", s.eta)?;
    t.set("limit", s.limit)?;
    t.set("error", s.error)?;
    Ok(t)
}
