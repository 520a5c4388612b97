//! The `mask = { column = "rule", ... }` option of `copy{}`: each rule is checked by
//! `ferry.mask.rule` in the plan pass (an unknown rule is a problem naming it), and the
//! masks run after the copy's own `transform`, as one transform, so the target never
//! sees a masked column's source value. The rules go into the copy's spec too, where
//! the plan checks their columns exist (and, with `mask_strict`, that every column the
//! copy writes is masked or kept).

use mlua::{Function, Lua, Table, Value as LuaValue};

use crate::lua::options::{show, Options};
use crate::plan::CopySpec;

/// The Lua that joins the copy's transform (if any) and the masks.
const COMPOSE: &str = r#"
local user, rules = ...
return function(r)
  if user then
    r = user(r)
    if r == nil then return nil end
  end
  for col, f in pairs(rules) do
    local v = r[col]
    if v ~= nil then r[col] = f(v) end
  end
  return r
end
"#;

/// Reads `mask` into `spec.mask` and returns the transform that applies it after
/// `transform`; problems go to `o`.
pub fn read(
    lua: &Lua,
    rules: &Table,
    spec: &mut CopySpec,
    transform: Option<Function>,
    o: &mut Options,
) -> Option<Function> {
    let made = (|| -> mlua::Result<Option<Function>> {
        let mask: Table = lua
            .globals()
            .get::<Function>("require")?
            .call("ferry.mask")?;
        let rule_of: Function = mask.get("rule")?;
        let has_salt: Function = mask.get("has_salt")?;
        let functions = lua.create_table()?;
        for pair in rules.pairs::<LuaValue, LuaValue>() {
            let (k, v) = pair?;
            let (LuaValue::String(col), LuaValue::String(rule)) = (&k, &v) else {
                o.problem(format!(
                    "copy: mask: a column's rule is `column = \"rule\"` (email = \"email\"), \
                     not {} = {}",
                    show(&k),
                    show(&v)
                ));
                continue;
            };
            let (col, rule) = (col.to_string_lossy(), rule.to_string_lossy());
            match rule_of.call::<Function>(rule.as_str()) {
                Ok(f) => {
                    if rule != "keep" {
                        functions.set(col.as_str(), f)?;
                    }
                    spec.mask.push((col.to_string(), rule.to_string()));
                }
                Err(e) => o.problem(format!("copy: mask.{col}: {}", first_line(&e.to_string()))),
            }
        }
        spec.mask.sort();
        let masking = spec.mask.iter().any(|(_, r)| r != "keep");
        if masking && !has_salt.call::<bool>(())? {
            o.problem(
                "copy: mask needs a salt: job { mask_salt = env(\"MASK_SALT\") } (a secret of \
                 your own: the same salt gives the same masks in every run)"
                    .into(),
            );
        }
        if !masking {
            return Ok(transform);
        }
        let compose: Function = lua.load(COMPOSE).set_name("=mask").into_function()?;
        Ok(Some(compose.call((transform, functions))?))
    })();
    match made {
        Ok(f) => f,
        Err(e) => {
            o.problem(format!("copy: mask: {e}"));
            None
        }
    }
}

/// The message of a Lua error without its traceback and the `ferry.mask.rule:` prefix.
fn first_line(message: &str) -> String {
    let line = message.lines().next().unwrap_or(message);
    match line.find("ferry.mask.rule: ") {
        Some(i) => line[i + "ferry.mask.rule: ".len()..].to_string(),
        None => line.to_string(),
    }
}
