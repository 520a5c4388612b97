//! Reading the job's text: every top-level `copy` statement (`copy {...}`,
//! `local x = copy {...}`, `x = copy {...}`, `copy "name"`) with the byte spans of the
//! parts the page may rewrite. full_moon parses the text with its comments and white
//! space; nothing here changes it: `apply.rs` splices new text into these spans.

use super::EditError;
use full_moon::ast::{
    Call, Expression, Field, FunctionArgs, FunctionCall, Index, LastStmt, Parameter, Prefix, Stmt,
    Suffix, TableConstructor, UnOp, Var,
};
use full_moon::node::Node;
use full_moon::tokenizer::{TokenReference, TokenType};
use full_moon::LuaVersion;

use super::edits::Literal;
use super::lua_text;

mod model;
pub use model::*;

/// Reads the text; an error is the parser's message with its line.
pub fn read(text: &str) -> Result<JobText, EditError> {
    let result = full_moon::parse_fallible(text, LuaVersion::lua54());
    if let Some(e) = result.errors().first() {
        let (start, _) = e.range();
        return Err(fail!("line {}: {}", start.line(), e.error_message()));
    }
    let ast = result.into_ast();
    let r = Reader { text };
    let mut statements = Vec::new();
    let mut copies = Vec::new();
    for stmt in ast.nodes().stmts() {
        let Some(span) = r.span(stmt) else { continue };
        let (first_line, last_line) = lines(stmt);
        let kind = match r.copy_statement(stmt) {
            Some(copy) => {
                copies.push(copy);
                StatementKind::Copy
            }
            None => r.kind(stmt),
        };
        statements.push(Statement {
            span,
            first_line,
            last_line,
            kind,
        });
    }
    let last = ast.nodes().last_stmt().and_then(|l| r.span(l)).map(|s| s.0);
    Ok(JobText {
        statements,
        copies,
        last,
    })
}

fn lines(n: &impl Node) -> (usize, usize) {
    match n.range() {
        Some((a, b)) => (a.line(), b.line()),
        None => (0, 0),
    }
}

struct Reader<'a> {
    text: &'a str,
}

impl Reader<'_> {
    fn span(&self, n: &impl Node) -> Option<Span> {
        let (a, b) = n.range()?;
        Some((a.bytes(), b.bytes()))
    }

    fn source(&self, n: &impl Node) -> String {
        self.span(n)
            .and_then(|(a, b)| self.text.get(a..b))
            .unwrap_or_default()
            .to_string()
    }

    fn kind(&self, stmt: &Stmt) -> StatementKind {
        match stmt {
            Stmt::FunctionCall(fc) => match call_name(fc) {
                Some(n) if n == "source" || n == "target" || n == "job" => StatementKind::Setup,
                Some(n) => StatementKind::Call(n),
                None => StatementKind::Other,
            },
            Stmt::LocalAssignment(l) => {
                let names: Vec<String> = l.names().iter().map(|t| t.token().to_string()).collect();
                let exprs: Vec<&Expression> = l.expressions().iter().collect();
                if let ([name], [Expression::FunctionCall(fc)]) =
                    (names.as_slice(), exprs.as_slice())
                {
                    if call_name(fc).as_deref() == Some("require") {
                        if let Some(m) = self.single_string_arg(fc) {
                            return StatementKind::Require {
                                name: name.clone(),
                                module: String::from_utf8_lossy(&m.bytes).into_owned(),
                            };
                        }
                    }
                }
                StatementKind::Local(names)
            }
            Stmt::GenericFor(_) | Stmt::NumericFor(_) | Stmt::While(_) | Stmt::Repeat(_) => {
                StatementKind::Loop
            }
            Stmt::FunctionDeclaration(_) | Stmt::LocalFunction(_) => StatementKind::Function,
            Stmt::If(_) => StatementKind::Condition,
            Stmt::Do(_) => StatementKind::Block,
            _ => StatementKind::Other,
        }
    }

    /// The copy call of a top-level statement, if it is one.
    fn copy_statement(&self, stmt: &Stmt) -> Option<FileCopy> {
        let call = match stmt {
            Stmt::FunctionCall(fc) => fc,
            Stmt::LocalAssignment(l) => match l.expressions().iter().collect::<Vec<_>>()[..] {
                [Expression::FunctionCall(fc)] => fc,
                _ => return None,
            },
            Stmt::Assignment(a) => match a.expressions().iter().collect::<Vec<_>>()[..] {
                [Expression::FunctionCall(fc)] => fc,
                _ => return None,
            },
            _ => return None,
        };
        if call_name(call).as_deref() != Some("copy") {
            return None;
        }
        let line = match call.prefix() {
            Prefix::Name(t) => t.token().start_position().line(),
            _ => return None,
        };
        let span = self.span(stmt)?;
        let shape = match single_arg(call) {
            Some(Arg::Str(t)) => match self.string(t) {
                Some(name) => Shape::Name {
                    arg: self.span(t)?,
                    name,
                },
                None => Shape::Fixed("its table name is not a plain string".into()),
            },
            Some(Arg::Table(t)) => Shape::Table(Box::new(self.copy_table(t))),
            _ => Shape::Fixed("its argument is not a table written in place".into()),
        };
        Some(FileCopy { line, span, shape })
    }

    fn copy_table(&self, t: &TableConstructor) -> CopyTable {
        let table = self.table_span(t);
        let mut c = CopyTable {
            table,
            from: None,
            to: None,
            mode: None,
            page: None,
            map: None,
            default: None,
            transform: false,
            why: None,
        };
        let mut why = Vec::new();
        for (i, field) in t.fields().iter().enumerate() {
            let (key, value) = match field {
                Field::NameKey { key, value, .. } => (key.token().to_string(), value.as_ref()),
                Field::NoKey(Expression::String(s)) if i == 0 => {
                    // copy { "t", ... } is not a form copy takes; leave it alone
                    let _ = s;
                    why.push("its first field has no name".to_string());
                    continue;
                }
                _ => {
                    why.push("it has fields without a plain name".to_string());
                    continue;
                }
            };
            match key.as_str() {
                "from" | "to" | "mode" => match self.string_expr(value) {
                    Some(text) => match key.as_str() {
                        "from" => c.from = Some(text),
                        "to" => c.to = Some(text),
                        _ => c.mode = Some(text),
                    },
                    None => why.push(format!("its `{key}` is computed, not a string")),
                },
                "page" => match (value, self.span(value)) {
                    (Expression::Number(n), Some(span)) => {
                        match lua_text::number(&n.token().to_string()) {
                            Some(Literal::Integer(p)) => c.page = Some((span, p)),
                            _ => why.push("its `page` is not a whole number".into()),
                        }
                    }
                    _ => why.push("its `page` is computed, not a number".into()),
                },
                "map" | "default" => match self.entries(&key, value) {
                    Ok(e) => {
                        if key == "map" {
                            c.map = Some(e)
                        } else {
                            c.default = Some(e)
                        }
                    }
                    Err(e) => why.push(e.0),
                },
                "tables" => why.push("it copies many tables (`tables`)".into()),
                "transform" => c.transform = true,
                _ => {}
            }
        }
        if c.from.is_none() && !why.iter().any(|w| w.contains("from")) {
            why.push("it has no `from` string".into());
        }
        if !why.is_empty() {
            c.why = Some(why.join("; "));
        }
        c
    }

    fn entries(&self, what: &str, value: &Expression) -> Result<Entries, EditError> {
        let table = match value {
            Expression::TableConstructor(t) => t.as_ref(),
            Expression::FunctionCall(fc) if call_name(fc).as_deref() == Some(what) => {
                match single_arg(fc) {
                    Some(Arg::Table(t)) => t,
                    _ => return Err(fail!("its `{what}` is not written as `{what} {{ ... }}`")),
                }
            }
            _ => return Err(fail!("its `{what}` is computed, not `{what} {{ ... }}`")),
        };
        let span = self.table_span(table);
        let mut entries = Vec::new();
        for (i, f) in table.fields().iter().enumerate() {
            let (target, value) = match f {
                Field::NameKey { key, value, .. } => (key.token().to_string(), value.as_ref()),
                Field::ExpressionKey { key, value, .. } => match self.string_expr(key) {
                    Some(t) => match String::from_utf8(t.bytes) {
                        Ok(s) => (s, value.as_ref()),
                        Err(_) => return Err(fail!("its `{what}` has a key that is not UTF-8")),
                    },
                    None => return Err(fail!("its `{what}` has a computed key")),
                },
                _ => return Err(fail!("its `{what}` has an entry without a column name")),
            };
            let value = if what == "map" {
                self.map_value(value)
            } else {
                self.default_value(value)
            };
            entries.push(Entry {
                target,
                field: i,
                value,
            });
        }
        Ok(Entries {
            table: span,
            entries,
        })
    }

    fn map_value(&self, e: &Expression) -> Value {
        if let Some(t) = self.string_expr(e) {
            if let Ok(s) = String::from_utf8(t.bytes) {
                return Value::Source(s);
            }
        }
        if let Expression::Function(f) = e {
            if let Some((source, function)) = self.transform_shape(f.body()) {
                return Value::Transform { source, function };
            }
        }
        Value::Lua(self.source(e))
    }

    /// `function(r) return MOD.FN(r.COL) end`: (COL, "MOD.FN").
    fn transform_shape(&self, body: &full_moon::ast::FunctionBody) -> Option<(String, String)> {
        let params: Vec<_> = body.parameters().iter().collect();
        let [Parameter::Name(row)] = params[..] else {
            return None;
        };
        let row = row.token().to_string();
        if body.block().stmts().next().is_some() {
            return None;
        }
        let Some(LastStmt::Return(ret)) = body.block().last_stmt() else {
            return None;
        };
        let rets: Vec<_> = ret.returns().iter().collect();
        let [Expression::FunctionCall(fc)] = rets[..] else {
            return None;
        };
        let Prefix::Name(first) = fc.prefix() else {
            return None;
        };
        let suffixes: Vec<_> = fc.suffixes().collect();
        // `MOD.FN(...)`, or `require("ferry.MOD").FN(...)`
        let (module, name, args) = match suffixes[..] {
            [Suffix::Index(Index::Dot { name, .. }), Suffix::Call(Call::AnonymousCall(args))] => {
                (first.token().to_string(), name, args)
            }
            [Suffix::Call(Call::AnonymousCall(req)), Suffix::Index(Index::Dot { name, .. }), Suffix::Call(Call::AnonymousCall(args))]
                if first.token().to_string() == "require" =>
            {
                let module = match req.as_ref() {
                    FunctionArgs::String(t) => self.string(t),
                    FunctionArgs::Parentheses { arguments, .. } if arguments.len() == 1 => {
                        match arguments.iter().next() {
                            Some(Expression::String(t)) => self.string(t),
                            _ => None,
                        }
                    }
                    _ => None,
                }?;
                let module = String::from_utf8(module).ok()?;
                (module.strip_prefix("ferry.")?.to_string(), name, args)
            }
            _ => return None,
        };
        let FunctionArgs::Parentheses { arguments, .. } = args.as_ref() else {
            return None;
        };
        let args: Vec<_> = arguments.iter().collect();
        let [Expression::Var(Var::Expression(v))] = args[..] else {
            return None;
        };
        let Prefix::Name(r) = v.prefix() else {
            return None;
        };
        if r.token().to_string() != row {
            return None;
        }
        let vs: Vec<_> = v.suffixes().collect();
        let col = match vs[..] {
            [Suffix::Index(Index::Dot { name, .. })] => name.token().to_string(),
            [Suffix::Index(Index::Brackets { expression, .. })] => {
                String::from_utf8(self.string_expr(expression)?.bytes).ok()?
            }
            _ => return None,
        };
        Some((col, format!("{module}.{}", name.token())))
    }

    fn default_value(&self, e: &Expression) -> Value {
        if let Some(t) = self.string_expr(e) {
            return Value::Literal(Literal::Bytes(t.bytes));
        }
        match e {
            Expression::Number(n) => {
                if let Some(l) = lua_text::number(&n.token().to_string()) {
                    return Value::Literal(l);
                }
            }
            Expression::UnaryOperator {
                unop: UnOp::Minus(_),
                expression,
            } => {
                if let Expression::Number(n) = expression.as_ref() {
                    match lua_text::number(&n.token().to_string()) {
                        Some(Literal::Integer(i)) => return Value::Literal(Literal::Integer(-i)),
                        Some(Literal::Float(f)) => return Value::Literal(Literal::Float(-f)),
                        _ => {}
                    }
                }
            }
            Expression::Symbol(s) => match s.token().to_string().as_str() {
                "true" => return Value::Literal(Literal::Bool(true)),
                "false" => return Value::Literal(Literal::Bool(false)),
                _ => {}
            },
            Expression::Var(Var::Name(n)) if n.token().to_string() == "null" => {
                return Value::Literal(Literal::Null)
            }
            Expression::FunctionCall(fc) if call_name(fc).as_deref() == Some("sql") => {
                if let Some(t) = self.single_string_arg(fc) {
                    return Value::Sql(t.bytes);
                }
            }
            _ => {}
        }
        Value::Lua(self.source(e))
    }

    fn table_span(&self, t: &TableConstructor) -> TableSpan {
        let (open, close) = t.braces().tokens();
        let fields = t
            .fields()
            .pairs()
            .map(|pair| {
                let f = pair.value();
                let value = match f {
                    Field::NameKey { value, .. } | Field::ExpressionKey { value, .. } => {
                        self.span(value.as_ref())
                    }
                    Field::NoKey(v) => self.span(v),
                    _ => None,
                }
                .unwrap_or_default();
                FieldSpan {
                    span: self.span(f).unwrap_or_default(),
                    sep: pair.punctuation().and_then(|p| self.span(p)),
                    value,
                }
            })
            .collect();
        TableSpan {
            open: open.token().start_position().bytes(),
            close: close.token().start_position().bytes(),
            fields,
        }
    }

    fn string(&self, t: &TokenReference) -> Option<Vec<u8>> {
        if !matches!(t.token_type(), TokenType::StringLiteral { .. }) {
            return None;
        }
        let (a, b) = self.span(t)?;
        lua_text::unquote(self.text.get(a..b)?)
    }

    fn string_expr(&self, e: &Expression) -> Option<Text> {
        match e {
            Expression::String(t) => Some(Text {
                span: self.span(t)?,
                bytes: self.string(t)?,
            }),
            _ => None,
        }
    }

    fn single_string_arg(&self, fc: &FunctionCall) -> Option<Text> {
        match single_arg(fc)? {
            Arg::Str(t) => Some(Text {
                span: self.span(t)?,
                bytes: self.string(t)?,
            }),
            _ => None,
        }
    }
}

/// `name` of `name ARGS` (one call of a plain name).
fn call_name(fc: &FunctionCall) -> Option<String> {
    let Prefix::Name(n) = fc.prefix() else {
        return None;
    };
    let suffixes: Vec<_> = fc.suffixes().collect();
    match suffixes[..] {
        [Suffix::Call(Call::AnonymousCall(_))] => Some(n.token().to_string()),
        _ => None,
    }
}

/// The one argument of `f "x"`, `f {..}` or `f(x)`.
enum Arg<'a> {
    Str(&'a TokenReference),
    Table(&'a TableConstructor),
    Other,
}

fn single_arg(fc: &FunctionCall) -> Option<Arg<'_>> {
    let Some(Suffix::Call(Call::AnonymousCall(args))) = fc.suffixes().next() else {
        return None;
    };
    Some(match args.as_ref() {
        FunctionArgs::String(t) => Arg::Str(t),
        FunctionArgs::TableConstructor(t) => Arg::Table(t),
        FunctionArgs::Parentheses { arguments, .. } if arguments.len() == 1 => {
            match arguments.iter().next() {
                Some(Expression::String(t)) => Arg::Str(t),
                Some(Expression::TableConstructor(t)) => Arg::Table(t),
                _ => Arg::Other,
            }
        }
        _ => Arg::Other,
    })
}
