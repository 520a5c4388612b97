//! What reading a job's text finds: its top-level statements, each `copy`'s shape and
//! table, and the byte spans of the parts the page may rewrite (`Span`s into the text).

use super::super::edits::Literal;

/// Byte offsets `[start, end)` in the text.
pub type Span = (usize, usize);

/// The job's text, read.
#[derive(Debug)]
pub struct JobText {
    /// Top-level statements: their kind and lines.
    pub statements: Vec<Statement>,
    pub copies: Vec<FileCopy>,
    /// Where a final `return` (or `break`) starts: new copies go before it.
    pub last: Option<usize>,
}

#[derive(Debug)]
pub struct Statement {
    pub span: Span,
    pub first_line: usize,
    pub last_line: usize,
    pub kind: StatementKind,
}

#[derive(Debug, PartialEq)]
pub enum StatementKind {
    /// `source ...` / `target ...` / `job {...}`
    Setup,
    Copy,
    /// `local NAME = require "MODULE"` (or `require("MODULE")`)
    Require {
        name: String,
        module: String,
    },
    /// A local of another kind: its names.
    Local(Vec<String>),
    Loop,
    Function,
    Condition,
    Block,
    /// `sample {...}` and other calls.
    Call(String),
    Other,
}

#[derive(Debug)]
pub struct FileCopy {
    /// The line of the `copy` name, as the plan pass's location says it.
    pub line: usize,
    pub span: Span,
    pub shape: Shape,
}

#[derive(Debug)]
pub enum Shape {
    /// `copy "name"`
    Name {
        arg: Span,
        name: Vec<u8>,
    },
    Table(Box<CopyTable>),
    /// A copy the page cannot rewrite, and why.
    Fixed(String),
}

#[derive(Debug)]
pub struct CopyTable {
    pub table: TableSpan,
    pub from: Option<Text>,
    pub to: Option<Text>,
    pub mode: Option<Text>,
    pub page: Option<(Span, i64)>,
    pub map: Option<Entries>,
    pub default: Option<Entries>,
    pub transform: bool,
    /// Set when the page cannot rewrite it.
    pub why: Option<String>,
}

/// A string literal and where it stands.
#[derive(Debug, Clone)]
pub struct Text {
    pub span: Span,
    pub bytes: Vec<u8>,
}

#[derive(Debug)]
pub struct TableSpan {
    /// The `{` and the `}`.
    pub open: usize,
    pub close: usize,
    pub fields: Vec<FieldSpan>,
}

#[derive(Debug)]
pub struct FieldSpan {
    pub span: Span,
    /// The `,` or `;` after it, if any.
    pub sep: Option<Span>,
    pub value: Span,
}

/// A `map { ... }` or `default { ... }` (or a plain table) field of a copy.
#[derive(Debug)]
pub struct Entries {
    pub table: TableSpan,
    pub entries: Vec<Entry>,
}

#[derive(Debug)]
pub struct Entry {
    pub target: String,
    /// Its position in `table.fields`.
    pub field: usize,
    pub value: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `"source"`
    Source(String),
    /// `function(r) return MOD.FN(r.source) end`
    Transform {
        source: String,
        function: String,
    },
    Literal(Literal),
    Sql(Vec<u8>),
    /// Anything else: its text, shown read-only.
    Lua(String),
}
