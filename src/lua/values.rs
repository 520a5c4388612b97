//! Values crossing between MySQL and Lua: the `null` sentinel, `sql "EXPR"` raw
//! expressions, and the conversions SPEC.md fixes (integers as integers, BIGINT UNSIGNED
//! above 2^63-1 and DECIMAL as exact strings, FLOAT/DOUBLE as numbers, dates and times as
//! MySQL text, everything else as byte-exact strings, NULL as `null`).

use crate::db::Value;
use mlua::{AnyUserData, Lua, MetaMethod, UserData, UserDataMethods, Value as LuaValue};

use crate::db::value::{to_text, Kind};
use crate::lua::errors::{ValueError, ValueProblem};

/// The SQL NULL sentinel. Every NULL is the same userdata, so `v == null` works.
pub struct Null;

impl UserData for Null {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_meta_method(MetaMethod::ToString, |_, _, ()| Ok("null"));
        methods.add_meta_function(MetaMethod::Eq, |_, (a, b): (LuaValue, LuaValue)| {
            Ok(is_null(&a) && is_null(&b))
        });
    }
}

/// A raw SQL expression for `default`, e.g. `sql "NOW()"`.
pub struct Sql(pub String);

impl UserData for Sql {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_meta_method(MetaMethod::ToString, |_, this, ()| {
            Ok(format!("sql({})", this.0))
        });
    }
}

/// Lua-side constants made once per state.
#[derive(Clone)]
pub struct Sentinels {
    pub null: AnyUserData,
}

impl Sentinels {
    pub fn new(lua: &Lua) -> mlua::Result<Sentinels> {
        Ok(Sentinels {
            null: lua.create_userdata(Null)?,
        })
    }

    pub fn get(lua: &Lua) -> Sentinels {
        lua.app_data_ref::<Sentinels>()
            .expect("sentinels registered")
            .clone()
    }
}

pub fn is_null(v: &LuaValue) -> bool {
    matches!(v, LuaValue::UserData(ud) if ud.is::<Null>())
}

/// A MySQL value as Lua sees it.
pub fn to_lua(lua: &Lua, null: &AnyUserData, v: &Value, kind: Kind) -> mlua::Result<LuaValue> {
    Ok(match v {
        Value::NULL => LuaValue::UserData(null.clone()),
        Value::Int(i) => LuaValue::Integer(*i),
        Value::UInt(u) => match i64::try_from(*u) {
            Ok(i) => LuaValue::Integer(i),
            Err(_) => LuaValue::String(lua.create_string(u.to_string())?),
        },
        Value::Float(f) => LuaValue::Number(*f as f64),
        Value::Double(d) => LuaValue::Number(*d),
        Value::Bytes(b) => match kind {
            // Text protocol: integers and floats arrive as text.
            Kind::Int => match std::str::from_utf8(b)
                .ok()
                .and_then(|s| s.parse::<i64>().ok())
            {
                Some(i) => LuaValue::Integer(i),
                None => LuaValue::String(lua.create_string(b)?),
            },
            Kind::Float | Kind::Double => {
                match std::str::from_utf8(b)
                    .ok()
                    .and_then(|s| s.parse::<f64>().ok())
                {
                    Some(f) => LuaValue::Number(f),
                    None => LuaValue::String(lua.create_string(b)?),
                }
            }
            _ => LuaValue::String(lua.create_string(b)?),
        },
        Value::Date(..) | Value::Time(..) => {
            LuaValue::String(lua.create_string(to_text(v, kind).unwrap_or_default())?)
        }
    })
}

/// A Lua value as a statement parameter. `what` names the place for errors.
pub fn from_lua(v: &LuaValue, what: &str) -> Result<Value, ValueError> {
    let refuse = |problem| {
        Err(ValueError {
            what: what.to_string(),
            returned: false,
            problem,
        })
    };
    Ok(match v {
        LuaValue::Nil => return refuse(ValueProblem::Nil),
        LuaValue::Boolean(b) => Value::Int(i64::from(*b)),
        LuaValue::Integer(i) => Value::Int(*i),
        LuaValue::Number(n) => Value::Double(*n),
        LuaValue::String(s) => Value::Bytes(s.as_bytes().to_vec()),
        LuaValue::UserData(ud) if ud.is::<Null>() => Value::NULL,
        LuaValue::UserData(ud) if ud.is::<Sql>() => return refuse(ValueProblem::Sql),
        other => return refuse(ValueProblem::Type(other.type_name())),
    })
}

/// Raw equality of two Lua values (no metamethods), used to spot values a transform
/// left alone so they are written back exactly as read.
pub fn same(a: &LuaValue, b: &LuaValue) -> bool {
    match (a, b) {
        (LuaValue::String(x), LuaValue::String(y)) => x.as_bytes() == y.as_bytes(),
        (LuaValue::Integer(x), LuaValue::Integer(y)) => x == y,
        (LuaValue::Number(x), LuaValue::Number(y)) => x.to_bits() == y.to_bits(),
        (LuaValue::Integer(x), LuaValue::Number(y))
        | (LuaValue::Number(y), LuaValue::Integer(x)) => *y == *x as f64,
        (LuaValue::UserData(x), LuaValue::UserData(y)) => x.to_pointer() == y.to_pointer(),
        (LuaValue::Boolean(x), LuaValue::Boolean(y)) => x == y,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lua() -> (Lua, AnyUserData) {
        let lua = Lua::new();
        let null = Sentinels::new(&lua).unwrap().null;
        (lua, null)
    }

    fn text(v: &LuaValue) -> String {
        match v {
            LuaValue::String(s) => s.to_string_lossy(),
            other => panic!("not a string: {other:?}"),
        }
    }

    #[test]
    fn mysql_values_become_the_lua_values_the_spec_names() {
        let (lua, null) = lua();
        let to = |v: Value, k: Kind| to_lua(&lua, &null, &v, k).unwrap();
        assert!(is_null(&to(Value::NULL, Kind::Int)));
        assert!(matches!(
            to(Value::Int(-5), Kind::Int),
            LuaValue::Integer(-5)
        ));
        assert!(matches!(
            to(Value::UInt(7), Kind::Int),
            LuaValue::Integer(7)
        ));
        // BIGINT UNSIGNED above 2^63-1: an exact string.
        assert_eq!(
            text(&to(Value::UInt(u64::MAX), Kind::Int)),
            u64::MAX.to_string()
        );
        // The text protocol: integers and floats arrive as text.
        assert!(matches!(
            to(Value::Bytes(b"42".to_vec()), Kind::Int),
            LuaValue::Integer(42)
        ));
        assert!(
            matches!(to(Value::Bytes(b"2.5".to_vec()), Kind::Double), LuaValue::Number(n) if n == 2.5)
        );
        assert!(matches!(to(Value::Double(0.25), Kind::Double), LuaValue::Number(n) if n == 0.25));
        // DECIMAL and text stay byte-exact strings.
        assert_eq!(
            text(&to(Value::Bytes(b"12.50".to_vec()), Kind::Bytes)),
            "12.50"
        );
        let bytes = to(Value::Bytes(vec![0, 255, 10]), Kind::Bytes);
        assert!(matches!(&bytes, LuaValue::String(s) if s.as_bytes().to_vec() == vec![0, 255, 10]));
    }

    #[test]
    fn lua_values_become_parameters_or_say_why_not() {
        let (lua, null) = lua();
        assert_eq!(from_lua(&LuaValue::Boolean(true), "x"), Ok(Value::Int(1)));
        assert_eq!(from_lua(&LuaValue::Integer(3), "x"), Ok(Value::Int(3)));
        assert_eq!(
            from_lua(&LuaValue::Number(1.5), "x"),
            Ok(Value::Double(1.5))
        );
        let s = LuaValue::String(lua.create_string("é").unwrap());
        assert_eq!(from_lua(&s, "x"), Ok(Value::Bytes("é".as_bytes().to_vec())));
        assert_eq!(
            from_lua(&LuaValue::UserData(null.clone()), "x"),
            Ok(Value::NULL)
        );
        assert_eq!(
            from_lua(&LuaValue::Nil, "field `a`")
                .unwrap_err()
                .to_string(),
            "field `a` is nil (use null for SQL NULL)"
        );
        let sql = LuaValue::UserData(lua.create_userdata(Sql("NOW()".into())).unwrap());
        assert!(from_lua(&sql, "x")
            .unwrap_err()
            .to_string()
            .contains("only default{...} accepts"));
        let t = LuaValue::Table(lua.create_table().unwrap());
        assert_eq!(
            from_lua(&t, "x").unwrap_err().to_string(),
            "x is a table, which cannot be stored in a column"
        );
    }

    #[test]
    fn same_is_raw_equality() {
        let (lua, null) = lua();
        let a = LuaValue::String(lua.create_string("a").unwrap());
        let a2 = LuaValue::String(lua.create_string("a").unwrap());
        assert!(same(&a, &a2));
        assert!(same(&LuaValue::Integer(2), &LuaValue::Number(2.0)));
        assert!(!same(&LuaValue::Integer(2), &a));
        assert!(same(
            &LuaValue::UserData(null.clone()),
            &LuaValue::UserData(null)
        ));
        // NaN is the same bits as itself: a value left alone is written back.
        assert!(same(
            &LuaValue::Number(f64::NAN),
            &LuaValue::Number(f64::NAN)
        ));
    }
}
