//! The one reader of option tables (`copy{...}`, `job{...}`): unknown keys are named
//! with a "did you mean" and the list of known ones, and each option is read as one of
//! a few kinds (string, whole number >= n, number >= n, boolean, list of names, table,
//! function), every problem collected so the script hears of all of them at once.

use mlua::{Function, Table, Value as LuaValue};

use crate::db::schema::did_you_mean;
use crate::lua::errors::OptionError;

/// An option table being read; problems pile up until `finish`.
pub struct Options {
    what: &'static str,
    table: Table,
    problems: Vec<String>,
}

impl Options {
    /// Reads `table` as the options of `what` (`copy`, `job`): every string key must be
    /// one of `known`; `positional`: `[1]` is allowed too (`copy{"users"}`).
    pub fn new(what: &'static str, table: Table, known: &[&str], positional: bool) -> Options {
        let mut problems = Vec::new();
        for pair in table.pairs::<LuaValue, LuaValue>() {
            match pair {
                Ok((LuaValue::String(k), _)) => {
                    let k = k.to_string_lossy();
                    if !known.contains(&k.as_str()) {
                        problems.push(unknown(what, &k, known));
                    }
                }
                Ok((LuaValue::Integer(1), _)) if positional => {}
                Ok((k, _)) => problems.push(format!("{what}: unexpected key {k:?}")),
                Err(e) => problems.push(e.to_string()),
            }
        }
        Options {
            what,
            table,
            problems,
        }
    }

    /// The problems so far, or none.
    pub fn finish(self) -> Result<(), Vec<String>> {
        if self.problems.is_empty() {
            Ok(())
        } else {
            Err(self.problems)
        }
    }

    /// A problem found by the caller (a value of the right kind that means nothing).
    pub fn problem(&mut self, message: String) {
        self.problems.push(message);
    }

    /// The raw value of `key` (`None` when unset).
    pub fn value(&mut self, key: &str) -> Option<LuaValue> {
        match self.table.get::<LuaValue>(key) {
            Ok(LuaValue::Nil) => None,
            Ok(v) => Some(v),
            Err(e) => {
                self.problems.push(e.to_string());
                None
            }
        }
    }

    /// The positional value `[1]`, when it is a string.
    pub fn first(&self) -> Option<String> {
        self.table.raw_get::<Option<String>>(1).ok().flatten()
    }

    fn read<T>(
        &mut self,
        key: &str,
        check: impl Fn(&str, &str, &LuaValue) -> Result<T, OptionError>,
    ) -> Option<T> {
        let v = self.value(key)?;
        match check(self.what, key, &v) {
            Ok(x) => Some(x),
            Err(e) => {
                self.problems.push(e.to_string());
                None
            }
        }
    }

    pub fn string(&mut self, key: &str) -> Option<String> {
        self.read(key, string)
    }

    /// A whole number of `unit` >= `min` (`page`: rows).
    pub fn whole(&mut self, key: &str, min: i64, unit: &str) -> Option<i64> {
        self.read(key, |w, k, v| whole(w, k, v, min, unit))
    }

    pub fn number(&mut self, key: &str, min: f64) -> Option<f64> {
        self.read(key, |w, k, v| number(w, k, v, min))
    }

    pub fn boolean(&mut self, key: &str) -> Option<bool> {
        self.read(key, boolean)
    }

    /// A name or a list of names (`noun`, e.g. "hazard names", among `known`).
    pub fn names(&mut self, key: &str, noun: &str, known: &[&str]) -> Vec<String> {
        self.read(key, |w, k, v| names(w, k, v, noun, known))
            .unwrap_or_default()
    }

    pub fn table(&mut self, key: &str) -> Option<Table> {
        self.read(key, |w, k, v| match v {
            LuaValue::Table(t) => Ok(t.clone()),
            other => Err(kind(w, k, "a table", format!("a {}", other.type_name()))),
        })
    }

    pub fn function(&mut self, key: &str) -> Option<Function> {
        self.read(key, |w, k, v| match v {
            LuaValue::Function(f) => Ok(f.clone()),
            other => Err(kind(w, k, "a function", format!("a {}", other.type_name()))),
        })
    }
}

/// The message for an unknown option.
pub fn unknown(what: &str, key: &str, known: &[&str]) -> String {
    let hint = did_you_mean(key, known.iter().copied());
    format!(
        "{what}: unknown option `{key}`{hint}; known: {}",
        known.join(", ")
    )
}

/// `key` of `what` must be `expected`, not `shown`.
fn kind(what: &str, key: &str, expected: impl Into<String>, shown: String) -> OptionError {
    OptionError::Kind {
        what: what.into(),
        key: key.into(),
        expected: expected.into(),
        shown,
    }
}

fn string(what: &str, key: &str, v: &LuaValue) -> Result<String, OptionError> {
    match v {
        LuaValue::String(s) => Ok(s.to_string_lossy()),
        other => Err(kind(
            what,
            key,
            "a string",
            format!("a {}", other.type_name()),
        )),
    }
}

fn whole(what: &str, key: &str, v: &LuaValue, min: i64, unit: &str) -> Result<i64, OptionError> {
    match v {
        LuaValue::Integer(n) if *n >= min => Ok(*n),
        LuaValue::Number(n) if *n >= min as f64 && n.fract() == 0.0 && *n < i64::MAX as f64 => {
            Ok(*n as i64)
        }
        other => Err(kind(
            what,
            key,
            format!("a whole number of {unit} >= {min}"),
            show(other),
        )),
    }
}

fn number(what: &str, key: &str, v: &LuaValue, min: f64) -> Result<f64, OptionError> {
    match v {
        LuaValue::Integer(n) if *n as f64 >= min => Ok(*n as f64),
        LuaValue::Number(n) if *n >= min => Ok(*n),
        other => Err(kind(what, key, format!("a number >= {min}"), show(other))),
    }
}

/// An optional true/false option of `copy{}` or `job{}` (`what`).
fn boolean(what: &str, key: &str, v: &LuaValue) -> Result<bool, OptionError> {
    match v {
        LuaValue::Boolean(b) => Ok(*b),
        other => Err(kind(what, key, "true or false", show(other))),
    }
}

fn names(
    what: &str,
    key: &str,
    v: &LuaValue,
    noun: &str,
    known: &[&str],
) -> Result<Vec<String>, OptionError> {
    match v {
        LuaValue::String(s) => Ok(vec![s.to_string_lossy()]),
        LuaValue::Table(list) => list
            .sequence_values::<LuaValue>()
            .map(|v| match v {
                Ok(LuaValue::String(s)) => Ok(s.to_string_lossy()),
                Ok(other) => Err(OptionError::NotAName {
                    what: what.into(),
                    key: key.into(),
                    noun: noun.into(),
                    shown: show(&other),
                }),
                Err(e) => Err(OptionError::Lua(e)),
            })
            .collect(),
        other => Err(kind(
            what,
            key,
            format!("a list of {noun} ({})", known.join(", ")),
            show(other),
        )),
    }
}

/// A Lua value as a message shows it: strings quoted, numbers as written, else its type.
pub fn show(v: &LuaValue) -> String {
    match v {
        LuaValue::String(s) => format!("\"{}\"", s.to_string_lossy()),
        LuaValue::Integer(i) => i.to_string(),
        LuaValue::Number(n) => n.to_string(),
        other => other.type_name().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mlua::Lua;

    const KNOWN: &[&str] = &["from", "page", "rate", "on", "accept", "map", "transform"];

    fn options(lua: &Lua, code: &str) -> Options {
        let t: Table = lua.load(code).eval().unwrap();
        Options::new("copy", t, KNOWN, true)
    }

    fn problems(o: Options) -> Vec<String> {
        o.finish().err().unwrap_or_default()
    }

    #[test]
    fn unknown_keys_are_named_with_a_guess() {
        let lua = Lua::new();
        let o = options(&lua, "return { 'users', pgae = 5 }");
        let p = problems(o);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].starts_with("copy: unknown option `pgae` (did you mean `page`?)"),
            "{p:?}"
        );
        assert!(p[0].ends_with("; known: from, page, rate, on, accept, map, transform"));
        let p = problems(Options::new(
            "job",
            options(&lua, "return { [2] = 1 }").table,
            KNOWN,
            false,
        ));
        assert_eq!(p, vec!["job: unexpected key Integer(2)"]);
    }

    #[test]
    fn each_kind_reads_its_values_and_names_the_others() {
        let lua = Lua::new();
        let mut o = options(
            &lua,
            "return { 'users', from = 'a', page = 500, rate = 2.5, on = true, \
               accept = 'x', map = {}, transform = function() end }",
        );
        assert_eq!(o.first().as_deref(), Some("users"));
        assert_eq!(o.string("from").as_deref(), Some("a"));
        assert_eq!(o.whole("page", 1, "rows"), Some(500));
        assert_eq!(o.number("rate", 1.0), Some(2.5));
        assert_eq!(o.boolean("on"), Some(true));
        assert_eq!(o.names("accept", "hazard names", &["x"]), vec!["x"]);
        assert!(o.table("map").is_some() && o.function("transform").is_some());
        assert_eq!(o.string("absent"), None);
        assert!(o.finish().is_ok());

        let mut o = options(
            &lua,
            "return { from = 1, page = 2.5, rate = 0, on = 'yes', accept = { 'x', 3 }, \
               map = 'm', transform = {} }",
        );
        assert_eq!(o.string("from"), None);
        assert_eq!(o.whole("page", 1, "rows"), None);
        assert_eq!(o.number("rate", 1.0), None);
        assert_eq!(o.boolean("on"), None);
        assert!(o.names("accept", "hazard names", &["x"]).is_empty());
        assert!(o.table("map").is_none());
        assert!(o.function("transform").is_none());
        assert_eq!(
            problems(o),
            vec![
                "copy: `from` must be a string, not a integer",
                "copy: `page` must be a whole number of rows >= 1, not 2.5",
                "copy: `rate` must be a number >= 1, not 0",
                "copy: `on` must be true or false, not \"yes\"",
                "copy: `accept` lists hazard names, not 3",
                "copy: `map` must be a table, not a string",
                "copy: `transform` must be a function, not a table",
            ]
        );
        let mut o = options(&lua, "return { accept = 7, page = 0 }");
        o.names("accept", "hazard names", &["x", "y"]);
        o.whole("page", 1, "rows");
        assert_eq!(
            problems(o),
            vec![
                "copy: `accept` must be a list of hazard names (x, y), not 7",
                "copy: `page` must be a whole number of rows >= 1, not 0",
            ]
        );
    }
}
