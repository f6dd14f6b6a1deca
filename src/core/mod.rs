//! The pure core: everything that can be decided without a network or a JS engine.

pub mod cache;
pub mod config;
pub mod error;
pub mod json;
pub mod limiter;
pub mod merge;
pub mod options;
pub mod plan;
pub mod response;
pub mod retry;
pub mod validate;

pub use error::{Error, ErrorKind, Operation};

/// Which of a user's three metadata fields an operation works on.
///
/// One code path serves all three; the public API names the public one, the others are
/// reachable through the client's `kind` option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetadataKind {
    Public,
    Private,
    Unsafe,
}

impl MetadataKind {
    /// The top-level field of Clerk's user object and metadata request body.
    pub fn field(self) -> &'static str {
        match self {
            MetadataKind::Public => "public_metadata",
            MetadataKind::Private => "private_metadata",
            MetadataKind::Unsafe => "unsafe_metadata",
        }
    }

    /// Parses the name used across the JS boundary (`"public"`, `"private"`, `"unsafe"`).
    pub fn from_name(name: &str) -> Option<MetadataKind> {
        match name {
            "public" => Some(MetadataKind::Public),
            "private" => Some(MetadataKind::Private),
            "unsafe" => Some(MetadataKind::Unsafe),
            _ => None,
        }
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::json::{self, Map, Value};

    /// A `json!(...)` literal as a core value (through its text, so numbers keep serde's form).
    pub fn value(literal: serde_json::Value) -> Value {
        json::parse(&literal.to_string()).unwrap_or_default()
    }

    /// The map inside a `json!({...})` literal.
    pub fn object(literal: serde_json::Value) -> Map {
        match value(literal) {
            Value::Object(object) => object,
            _ => Map::new(),
        }
    }
}
