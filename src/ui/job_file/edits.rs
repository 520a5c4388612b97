//! The edit model the page sends (POST /api/job/diff, /api/job/save, /api/check): per
//! copy, the mode, page and the target columns the page sets explicitly. See
//! /work/briefs/ui-contract.md and docs/guide/ui.md ("Saving the job").

use super::EditError;
use serde::{Deserialize, Deserializer, Serialize};

/// All the page's changes to the job.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JobEdits {
    #[serde(default)]
    pub copies: Vec<CopyEdit>,
}

/// One `copy{}`: an existing one (`index`, its position in GET /api/job's `copies`) or a
/// new one (`index` null, appended to the file).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CopyEdit {
    #[serde(default)]
    pub index: Option<usize>,
    pub from: String,
    #[serde(default)]
    pub to: String,
    /// insert | overwrite | upsert
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<u64>,
    /// Only the target columns the page sets explicitly; one not listed keeps what the
    /// file says.
    #[serde(default)]
    pub columns: Vec<ColumnEdit>,
}

impl CopyEdit {
    /// `to`, or `from` when the page left it empty.
    pub fn target(&self) -> &str {
        if self.to.is_empty() {
            &self.from
        } else {
            &self.to
        }
    }
}

/// One target column. Exactly one of: `source` (with an optional `transform`),
/// `default`, `sql`, `lua` (read only: a function the page shows and never writes), or
/// none (as `copy` would do by itself: the file's explicit entry is dropped).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ColumnEdit {
    pub target: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// A name from GET /api/transforms (`text.lower`), applied to `source`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transform: Option<String>,
    /// A literal: a string, a number, null, or `{"hex": "ff00"}` for bytes that are not
    /// UTF-8. JSON `null` here is SQL NULL (an absent field is "no default").
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub default: Option<serde_json::Value>,
    /// `default sql "EXPR"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sql: Option<String>,
    /// A Lua function of the file's own (GET /api/job); sent back alone, it keeps the
    /// entry as it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lua: Option<String>,
}

/// A field that is there, `null` included, is `Some`.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<serde_json::Value>, D::Error> {
    serde_json::Value::deserialize(d).map(Some)
}

/// What a column edit asks for, checked.
#[derive(Debug, Clone, PartialEq)]
pub enum Want {
    /// `map { target = "source" }` (or nothing, when `source` is the target's own name).
    Source(String),
    /// `map { target = function(r) return MOD.FN(r.source) end }`
    Transform { source: String, function: String },
    /// `default { target = VALUE }`
    Value(Literal),
    /// `default { target = sql "EXPR" }`
    Sql(Vec<u8>),
    /// Neither a map nor a default entry.
    Nothing,
    /// `{"target", "lua"}` as GET /api/job showed it: the entry stays as the file has it.
    Keep,
}

/// A default's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Null,
    Bytes(Vec<u8>),
    Integer(i64),
    Float(f64),
    Bool(bool),
}

impl ColumnEdit {
    /// What this column asks for, or why it cannot be written.
    pub fn want(&self) -> Result<Want, EditError> {
        let t = &self.target;
        let set = [
            self.source.is_some(),
            self.default.is_some(),
            self.sql.is_some(),
        ]
        .iter()
        .filter(|x| **x)
        .count();
        if set > 1 {
            return Err(fail!(
                "column `{t}`: give one of source, default or sql, not several"
            ));
        }
        if self.transform.is_some() && self.source.is_none() {
            return Err(fail!("column `{t}`: a transform needs a source column"));
        }
        if let Some(source) = &self.source {
            if source.is_empty() {
                return Err(fail!("column `{t}`: the source column has no name"));
            }
            return Ok(match &self.transform {
                Some(f) => {
                    if !super::transforms::exists(f) {
                        return Err(fail!(
                            "column `{t}`: `{f}` is not one of the transforms (GET /api/transforms)"
                        ));
                    }
                    Want::Transform {
                        source: source.clone(),
                        function: f.clone(),
                    }
                }
                None => Want::Source(source.clone()),
            });
        }
        if let Some(sql) = &self.sql {
            return Ok(Want::Sql(sql.as_bytes().to_vec()));
        }
        if let Some(v) = &self.default {
            return literal(v)
                .map(Want::Value)
                .map_err(|e| fail!("column `{t}`: {e}"));
        }
        if self.lua.is_some() {
            // GET /api/job's entry sent back as it was: the file's own Lua stays
            return Ok(Want::Keep);
        }
        Ok(Want::Nothing)
    }
}

fn literal(v: &serde_json::Value) -> Result<Literal, EditError> {
    use serde_json::Value;
    Ok(match v {
        Value::Null => Literal::Null,
        Value::Bool(b) => Literal::Bool(*b),
        Value::String(s) => Literal::Bytes(s.as_bytes().to_vec()),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Literal::Integer(i),
            None => match n.as_f64() {
                Some(f) if f.is_finite() => Literal::Float(f),
                _ => return Err(fail!("the number {n} does not fit a Lua number")),
            },
        },
        Value::Object(o) if o.len() == 1 && o.contains_key("hex") => {
            let hex = o["hex"]
                .as_str()
                .ok_or(EditError::from("`hex` must be a string of hex digits"))?;
            Literal::Bytes(crate::db::value::unhex(hex).ok_or(EditError::from(
                "`hex` must be an even number of hex digits",
            ))?)
        }
        _ => {
            return Err(EditError::from(
                "a default is a string, a number, null or {\"hex\": \"...\"}",
            ))
        }
    })
}

/// The JSON form of a default value read from the file.
pub fn literal_json(l: &Literal) -> serde_json::Value {
    use serde_json::Value;
    match l {
        Literal::Null => Value::Null,
        Literal::Bool(b) => Value::Bool(*b),
        Literal::Integer(i) => Value::from(*i),
        Literal::Float(f) => Value::from(*f),
        Literal::Bytes(b) => match std::str::from_utf8(b) {
            Ok(s) => Value::String(s.to_string()),
            Err(_) => {
                let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
                serde_json::json!({ "hex": hex })
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_default_is_not_no_default() {
        let e: JobEdits = serde_json::from_str(
            r#"{"copies":[{"index":null,"from":"a","to":"b","columns":[
                {"target":"x","default":null},{"target":"y"},
                {"target":"z","default":{"hex":"ff00"}}]}]}"#,
        )
        .unwrap();
        let c = &e.copies[0].columns;
        assert_eq!(c[0].want().unwrap(), Want::Value(Literal::Null));
        assert_eq!(c[1].want().unwrap(), Want::Nothing);
        assert_eq!(
            c[2].want().unwrap(),
            Want::Value(Literal::Bytes(vec![255, 0]))
        );
        let back = serde_json::to_string(&c[0]).unwrap();
        assert_eq!(back, r#"{"target":"x","default":null}"#);
    }

    #[test]
    fn contradictions_are_refused() {
        let c = ColumnEdit {
            target: "x".into(),
            source: Some("a".into()),
            sql: Some("NOW()".into()),
            ..Default::default()
        };
        assert!(c.want().unwrap_err().0.contains("column `x`"));
    }
}
