//! One error type for the whole core. Each variant maps to one Python exception class in the
//! bindings, so the variant says *what kind* of mistake it is and the message says where.

use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// Shapes that do not fit the op (broadcasting, matmul, reshape, concat...).
    Shape { op: String, msg: String },
    /// Format labels that are invalid or do not fit the op.
    Format { op: String, msg: String },
    /// A dtype the op does not support (e.g. `floor` of a complex array).
    DType { op: String, msg: String },
    /// An index out of range or malformed.
    Index { op: String, msg: String },
    /// A bad option value (negative stride, unknown mode...).
    Value { op: String, msg: String },
    /// Misuse of automatic differentiation (dlgradient outside dlfeval, untraced input...).
    Autodiff { op: String, msg: String },
    /// A result too large to allocate (checked before allocating, so the process survives).
    Memory { op: String, msg: String },
    /// A device that cannot be used: no GPU, a lost GPU, a dtype the adapter cannot hold.
    Device { op: String, msg: String },
    /// A bug in dlarray: a broken internal invariant, caught instead of unwinding further.
    Internal { op: String, msg: String },
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn shape(op: &str, msg: impl Into<String>) -> Self {
        Error::Shape { op: op.into(), msg: msg.into() }
    }
    pub fn format(op: &str, msg: impl Into<String>) -> Self {
        Error::Format { op: op.into(), msg: msg.into() }
    }
    pub fn dtype(op: &str, msg: impl Into<String>) -> Self {
        Error::DType { op: op.into(), msg: msg.into() }
    }
    pub fn index(op: &str, msg: impl Into<String>) -> Self {
        Error::Index { op: op.into(), msg: msg.into() }
    }
    pub fn value(op: &str, msg: impl Into<String>) -> Self {
        Error::Value { op: op.into(), msg: msg.into() }
    }
    pub fn autodiff(op: &str, msg: impl Into<String>) -> Self {
        Error::Autodiff { op: op.into(), msg: msg.into() }
    }
    pub fn memory(op: &str, msg: impl Into<String>) -> Self {
        Error::Memory { op: op.into(), msg: msg.into() }
    }
    pub fn device(op: &str, msg: impl Into<String>) -> Self {
        Error::Device { op: op.into(), msg: msg.into() }
    }
    pub fn internal(op: &str, msg: impl Into<String>) -> Self {
        Error::Internal { op: op.into(), msg: msg.into() }
    }

    /// The same error told as `outer`'s, for an op built on another (`mean` on `sum`,
    /// `pagemtimes` on `matmul`): the user called `outer` and looks for its name.
    pub fn within(mut self, outer: &str) -> Self {
        match &mut self {
            Error::Shape { op, .. }
            | Error::Format { op, .. }
            | Error::DType { op, .. }
            | Error::Index { op, .. }
            | Error::Value { op, .. }
            | Error::Autodiff { op, .. }
            | Error::Memory { op, .. }
            | Error::Device { op, .. }
            | Error::Internal { op, .. } => *op = outer.to_string(),
        }
        self
    }
}

impl Error {
    /// The op the error names and what went wrong.
    pub fn parts(&self) -> (&str, &str) {
        match self {
            Error::Shape { op, msg }
            | Error::Format { op, msg }
            | Error::DType { op, msg }
            | Error::Index { op, msg }
            | Error::Value { op, msg }
            | Error::Autodiff { op, msg }
            | Error::Memory { op, msg }
            | Error::Device { op, msg }
            | Error::Internal { op, msg } => (op, msg),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (op, msg) = self.parts();
        write!(f, "{op}: {msg}")
    }
}

impl std::error::Error for Error {}
