//! The pure core: everything that can be decided without a network or a JS engine.

pub mod cache;
pub mod config;
pub mod error;
pub mod limiter;
pub mod merge;
pub mod options;
mod pick;
pub mod plan;
pub mod response;
pub mod retry;
pub mod retry_after;
pub mod validate;

pub use error::{Error, ErrorKind, Operation};

/// A JSON object with its members in the order they were given (serde_json's `preserve_order`).
pub type Map = serde_json::Map<String, serde_json::Value>;

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
    use super::Map;
    use serde_json::Value;

    /// A `json!(...)` literal, as the core's value type.
    pub fn value(literal: Value) -> Value {
        literal
    }

    /// The map inside a `json!({...})` literal.
    pub fn object(literal: Value) -> Map {
        match literal {
            Value::Object(object) => object,
            _ => Map::new(),
        }
    }
}
