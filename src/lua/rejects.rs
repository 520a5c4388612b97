//! The binding of `on_error = "abort" | "reject"`, `rejects = PATH` and
//! `max_rejects = N | fraction` of `copy{...}` (see `crate::job::RejectOptions`).

use mlua::Value as LuaValue;

use crate::engine::rejects::MaxRejects;
use crate::job::RejectOptions;
use crate::lua::options::{show, Options};

/// The options of this file, for the copy's list of known options.
pub const OPTIONS: &[&str] = &["on_error", "rejects", "max_rejects"];

/// `on_error`, `rejects`, `max_rejects` (the last two only with `on_error = "reject"`).
pub fn read(o: &mut Options) -> Option<RejectOptions> {
    let on_error = o.string("on_error");
    let file = o.string("rejects");
    let max = o.value("max_rejects");
    match on_error.as_deref() {
        Some("reject") => {}
        None | Some("abort") => {
            if file.is_some() || max.is_some() {
                o.problem("copy: `rejects` and `max_rejects` go with on_error = \"reject\"".into());
            }
            return None;
        }
        Some(other) => {
            o.problem(format!(
                "copy: unknown on_error `{other}` (use \"abort\" or \"reject\")"
            ));
            return None;
        }
    }
    let max = match max {
        None => MaxRejects::Unlimited,
        Some(LuaValue::Integer(n)) if n >= 0 => MaxRejects::Count(n as u64),
        Some(LuaValue::Number(f)) if f > 0.0 && f < 1.0 => MaxRejects::Fraction(f),
        Some(LuaValue::Number(f)) if f >= 1.0 && f.fract() == 0.0 && f < 9.0e15 => {
            MaxRejects::Count(f as u64)
        }
        Some(v) => {
            o.problem(format!(
                "copy: `max_rejects` is a number of rows (0 or more) or a fraction of the rows \
                 to copy (between 0 and 1), not {}",
                show(&v)
            ));
            MaxRejects::Unlimited
        }
    };
    Some(RejectOptions { file, max })
}

#[cfg(test)]
mod tests {
    use super::*;
    use mlua::Lua;

    fn read_from(code: &str) -> Result<Option<RejectOptions>, Vec<String>> {
        let lua = Lua::new();
        let t: mlua::Table = lua.load(code).eval().unwrap();
        let mut o = Options::new("copy", t, OPTIONS, false);
        let r = read(&mut o);
        o.finish().map(|()| r)
    }

    #[test]
    fn reject_options_are_read_and_checked() {
        assert_eq!(read_from("return {}"), Ok(None));
        assert_eq!(read_from("return { on_error = 'abort' }"), Ok(None));
        let r = read_from("return { on_error = 'reject', max_rejects = 0.01, rejects = 'x' }");
        assert_eq!(
            r,
            Ok(Some(RejectOptions {
                file: Some("x".into()),
                max: MaxRejects::Fraction(0.01)
            }))
        );
        let r = read_from("return { on_error = 'reject', max_rejects = 10 }");
        assert_eq!(r.unwrap().unwrap().max, MaxRejects::Count(10));
        let p = read_from("return { on_error = 'skip' }").unwrap_err();
        assert_eq!(
            p,
            vec!["copy: unknown on_error `skip` (use \"abort\" or \"reject\")"]
        );
        let p = read_from("return { max_rejects = 3 }").unwrap_err();
        assert!(p[0].contains("go with on_error"), "{p:?}");
        let p = read_from("return { on_error = 'reject', max_rejects = -1 }").unwrap_err();
        assert!(p[0].contains("`max_rejects` is a number of rows"), "{p:?}");
    }
}
