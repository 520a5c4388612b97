//! What the Lua layer refuses: a Lua value that cannot be a column value
//! (`ValueError`), an option of the wrong kind (`OptionError`), a `default{}` or
//! `since_overlap` that means nothing, and a row the transform could not make
//! (`RowFailure`). `Display` gives the text the script's author sees.

use std::fmt;

use crate::db::wire::WireError;

use super::render_error;

/// A Lua value that cannot be stored in a column: `what` names the place
/// (`target column `name``), `returned` says it came back from a map function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueError {
    pub what: String,
    pub returned: bool,
    pub problem: ValueProblem,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueProblem {
    Nil,
    /// An `sql(...)` expression, which only `default{}` accepts.
    Sql,
    /// A value of this Lua type.
    Type(&'static str),
}

impl ValueError {
    /// The same problem, said of what a map function returned.
    pub fn returned(self) -> ValueError {
        ValueError {
            returned: true,
            ..self
        }
    }
}

impl fmt::Display for ValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = if self.returned { "returned" } else { "is" };
        write!(f, "{} {verb} ", self.what)?;
        match &self.problem {
            ValueProblem::Nil => f.write_str("nil (use null for SQL NULL)"),
            ValueProblem::Sql => {
                f.write_str("an sql(...) expression, which only default{...} accepts")
            }
            ValueProblem::Type(t) => write!(f, "a {t}, which cannot be stored in a column"),
        }
    }
}

impl std::error::Error for ValueError {}

/// An option of `copy{}` or `job{}` (`what`) of the wrong kind.
#[derive(Debug)]
pub enum OptionError {
    /// `key` must be `expected` (`a string`, `a whole number of rows >= 1`), not
    /// `shown` (the value as `show` gives it, or `a <type>`).
    Kind {
        what: String,
        key: String,
        expected: String,
        shown: String,
    },
    /// A list of names holding something else.
    NotAName {
        what: String,
        key: String,
        noun: String,
        shown: String,
    },
    /// The table could not be read.
    Lua(mlua::Error),
}

impl fmt::Display for OptionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OptionError::Kind {
                what,
                key,
                expected,
                shown,
            } => write!(f, "{what}: `{key}` must be {expected}, not {shown}"),
            OptionError::NotAName {
                what,
                key,
                noun,
                shown,
            } => write!(f, "{what}: `{key}` lists {noun}, not {shown}"),
            OptionError::Lua(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for OptionError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            OptionError::Lua(e) => Some(e),
            _ => None,
        }
    }
}

/// A `default{}` entry that is no value.
#[derive(Debug)]
pub enum DefaultError {
    /// A function, which belongs in `map{}`.
    Function {
        key: String,
    },
    Value(ValueError),
    Lua(mlua::Error),
}

impl fmt::Display for DefaultError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DefaultError::Function { key } => write!(
                f,
                "default: `{key}` is a function; put functions in map{{...}}"
            ),
            DefaultError::Value(e) => write!(f, "{e}"),
            DefaultError::Lua(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for DefaultError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DefaultError::Value(e) => Some(e),
            DefaultError::Lua(e) => Some(e),
            DefaultError::Function { .. } => None,
        }
    }
}

/// A `since_overlap` that is neither a number >= 0 nor an interval; `shown` is the
/// value as `show` gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadOverlap {
    pub shown: String,
}

impl fmt::Display for BadOverlap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`since_overlap` must be a number >= 0 or an interval such as \"10 minutes\" \
             (second, minute, hour, day, week), not {}",
            self.shown
        )
    }
}

impl std::error::Error for BadOverlap {}

/// Why the Lua processor could not make a row.
#[derive(Debug)]
pub enum RowFailure {
    /// The undecoded source row did not decode.
    Decode(WireError),
    /// The transform or a map function raised (shown with its file:line).
    Raised(mlua::Error),
    /// The transform returned neither a table nor nil.
    BadReturn {
        type_name: &'static str,
    },
    /// The row the transform returned has no field for a target column.
    MissingField {
        field: String,
        column: String,
    },
    Value(ValueError),
    /// The Lua state failed (a table could not be made or read).
    Lua(mlua::Error),
}

impl From<WireError> for RowFailure {
    fn from(e: WireError) -> RowFailure {
        RowFailure::Decode(e)
    }
}

impl From<ValueError> for RowFailure {
    fn from(e: ValueError) -> RowFailure {
        RowFailure::Value(e)
    }
}

impl fmt::Display for RowFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RowFailure::Decode(e) => write!(f, "{e}"),
            RowFailure::Raised(e) => f.write_str(&render_error(e)),
            RowFailure::BadReturn { type_name } => write!(
                f,
                "transform returned a {type_name}; it must return the row (a table) or nil to \
                 skip it"
            ),
            RowFailure::MissingField { field, column } => write!(
                f,
                "the row the transform returned has no field `{field}` for target column \
                 `{column}` (set it to null for SQL NULL)"
            ),
            RowFailure::Value(e) => write!(f, "{e}"),
            RowFailure::Lua(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for RowFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RowFailure::Decode(e) => Some(e),
            RowFailure::Raised(e) | RowFailure::Lua(e) => Some(e),
            RowFailure::Value(e) => Some(e),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages() {
        let v = ValueError {
            what: "the map function for `a`".into(),
            returned: false,
            problem: ValueProblem::Type("table"),
        };
        assert_eq!(
            v.to_string(),
            "the map function for `a` is a table, which cannot be stored in a column"
        );
        assert_eq!(
            v.returned().to_string(),
            "the map function for `a` returned a table, which cannot be stored in a column"
        );
        let o = OptionError::Kind {
            what: "copy".into(),
            key: "page".into(),
            expected: "a whole number of rows >= 1".into(),
            shown: "\"x\"".into(),
        };
        assert_eq!(
            o.to_string(),
            "copy: `page` must be a whole number of rows >= 1, not \"x\""
        );
        assert_eq!(
            DefaultError::Function { key: "a".into() }.to_string(),
            "default: `a` is a function; put functions in map{...}"
        );
        assert!(BadOverlap {
            shown: "true".into()
        }
        .to_string()
        .ends_with("(second, minute, hour, day, week), not true"));
        assert_eq!(
            RowFailure::BadReturn {
                type_name: "number"
            }
            .to_string(),
            "transform returned a number; it must return the row (a table) or nil to skip it"
        );
        assert_eq!(
            RowFailure::MissingField {
                field: "x".into(),
                column: "y".into()
            }
            .to_string(),
            "the row the transform returned has no field `x` for target column `y` (set it \
             to null for SQL NULL)"
        );
        assert_eq!(
            RowFailure::from(WireError::KeyMissing).to_string(),
            "a key parameter is missing from the row"
        );
    }
}
