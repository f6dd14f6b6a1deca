//! The one error type every operation returns, and the message format users already know.
//!
//! Messages follow the module this package replaces: `Failed to <operation> user metadata:
//! <reason>`. The structured fields (`code`, `status`, `clerk_trace_id`, `retry_after`, Clerk's
//! `errors`) are what callers should branch on; the message is for people.

/// The operations, named as they appear in error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Update,
    Get,
    Merge,
    RemoveKeys,
    SetKey,
    SetKeys,
    GetKey,
    HasKey,
    Clear,
    ListUsers,
}

impl Operation {
    /// What failed, as a message says it after "Failed to".
    pub fn action(self) -> &'static str {
        match self {
            Operation::Update => "update user metadata",
            Operation::Get => "get user metadata",
            Operation::Merge => "merge user metadata",
            Operation::RemoveKeys => "remove keys from user metadata",
            Operation::SetKey => "set key in user metadata",
            Operation::SetKeys => "set keys in user metadata",
            Operation::GetKey => "get key from user metadata",
            Operation::HasKey => "check key in user metadata",
            Operation::Clear => "clear user metadata",
            Operation::ListUsers => "list users",
        }
    }

    /// The `operation` field of JS errors (the names of `js/client.ts`'s `MetadataOperation`).
    pub fn name(self) -> &'static str {
        match self {
            Operation::Update => "update",
            Operation::Get => "get",
            Operation::Merge => "merge",
            Operation::RemoveKeys => "removeKeys",
            Operation::SetKey => "setKey",
            Operation::SetKeys => "setKeys",
            Operation::GetKey => "getKey",
            Operation::HasKey => "hasKey",
            Operation::Clear => "clear",
            Operation::ListUsers => "listUsers",
        }
    }
}

/// What went wrong, as a stable machine-readable code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// No secret key was configured (`CLERK_SECRET_KEY` unset or empty).
    MissingSecretKey,
    /// The secret key is not of Clerk's form (`sk_test_…` / `sk_live_…`).
    InvalidSecretKey,
    /// The API URL is not an absolute `https:` URL (or `http:` on a loopback host).
    InvalidApiUrl,
    /// An argument was refused before anything was sent.
    InvalidArgument,
    /// A secret key in a browser-like host, without the explicit opt-in.
    BrowserNotAllowed,
    /// `fetch` itself failed: DNS, connection refused or reset, TLS.
    Network,
    /// The per-request timeout or the total deadline passed.
    Timeout,
    /// The caller's `AbortSignal` fired.
    Aborted,
    /// A response arrived but is not what Clerk sends (HTML, truncated JSON, missing fields).
    InvalidResponse,
    /// Clerk's address answered with a redirect, which is never followed: it could send the
    /// body (private metadata included) to another origin, or turn a write into a read.
    UnexpectedRedirect,
    /// Clerk answered with an error; the code is Clerk's own (`resource_not_found`, …), or
    /// `http_<status>` when the body carried none.
    Api(Box<str>),
}

impl ErrorKind {
    /// The `code` field seen by JS callers.
    pub fn code(&self) -> &str {
        match self {
            ErrorKind::MissingSecretKey => "missing_secret_key",
            ErrorKind::InvalidSecretKey => "invalid_secret_key",
            ErrorKind::InvalidApiUrl => "invalid_api_url",
            ErrorKind::InvalidArgument => "invalid_argument",
            ErrorKind::BrowserNotAllowed => "browser_not_allowed",
            ErrorKind::Network => "network_error",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Aborted => "aborted",
            ErrorKind::InvalidResponse => "invalid_response",
            ErrorKind::UnexpectedRedirect => "unexpected_redirect",
            ErrorKind::Api(code) => code,
        }
    }
}

/// One entry of the `errors` array of a Clerk error body.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClerkErrorEntry {
    pub message: String,
    pub long_message: Option<String>,
    pub code: String,
    pub meta: Option<serde_json::Value>,
}

/// A failure, before it is tied to the operation that met it.
#[derive(Debug, Clone, PartialEq)]
pub struct Error {
    pub kind: ErrorKind,
    /// Human-readable; never contains the secret key.
    pub reason: String,
    /// HTTP status, when a response arrived.
    pub status: Option<u16>,
    pub clerk_trace_id: Option<Box<str>>,
    /// Seconds, from `Retry-After`.
    pub retry_after: Option<u64>,
    pub errors: Box<[ClerkErrorEntry]>,
    /// How many requests were sent for this operation (0 when refused before sending).
    pub attempts: u32,
    /// A write that may or may not have been applied: it timed out, or its connection dropped,
    /// after the body was sent.
    pub outcome_unknown: bool,
}

impl Error {
    pub fn new(kind: ErrorKind, reason: impl Into<String>) -> Error {
        Error {
            kind,
            reason: reason.into(),
            status: None,
            clerk_trace_id: None,
            retry_after: None,
            errors: Box::default(),
            attempts: 0,
            outcome_unknown: false,
        }
    }

    /// Shorthand for the most common failure: an argument refused before sending.
    pub fn invalid_argument(reason: impl Into<String>) -> Error {
        Error::new(ErrorKind::InvalidArgument, reason)
    }

    pub fn code(&self) -> &str {
        self.kind.code()
    }

    /// The full message for an operation, e.g. `Failed to update user metadata: User not found`.
    pub fn message(&self, operation: Operation) -> String {
        let mut message = format!("Failed to {}: {}", operation.action(), self.reason);
        if self.attempts > 1 {
            message.push_str(&format!(" (after {} attempts)", self.attempts));
        }
        message
    }
}

/// Quotes text for a message as a JSON string: control characters escaped, so a value cannot
/// forge lines in a log.
pub fn quoted(text: &str) -> String {
    serde_json::Value::from(text).to_string()
}

/// A number for a message, without pulling float formatting into the wasm.
pub fn number_text(value: f64) -> String {
    if value.is_nan() {
        "NaN".into()
    } else if value.is_infinite() {
        if value > 0.0 { "Infinity" } else { "-Infinity" }.into()
    } else if value.fract() == 0.0 && value.abs() < 1e15 {
        (value as i64).to_string()
    } else {
        // Fractional milliseconds or huge numbers: three decimals are plenty for a message.
        let scaled = (value * 1000.0).round() as i64;
        format!("{}.{:03}", scaled / 1000, (scaled % 1000).abs())
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.reason, self.code())
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_follows_the_seed_format() {
        let error = Error::new(
            ErrorKind::Api("resource_not_found".into()),
            "User not found",
        );
        assert_eq!(
            error.message(Operation::Update),
            "Failed to update user metadata: User not found"
        );
        assert_eq!(
            error.message(Operation::RemoveKeys),
            "Failed to remove keys from user metadata: User not found"
        );
        assert_eq!(error.code(), "resource_not_found");
    }

    #[test]
    fn message_reports_attempts_only_when_retried() {
        let mut error = Error::new(
            ErrorKind::Api("too_many_requests".into()),
            "Rate limit exceeded",
        );
        error.attempts = 1;
        assert!(!error.message(Operation::Merge).contains("attempts"));
        error.attempts = 3;
        assert_eq!(
            error.message(Operation::Merge),
            "Failed to merge user metadata: Rate limit exceeded (after 3 attempts)"
        );
    }

    #[test]
    fn operation_names_are_the_js_ones_and_distinct() {
        let all = [
            Operation::Update,
            Operation::Get,
            Operation::Merge,
            Operation::RemoveKeys,
            Operation::SetKey,
            Operation::SetKeys,
            Operation::GetKey,
            Operation::HasKey,
            Operation::Clear,
        ];
        let names: Vec<&str> = all.iter().map(|op| op.name()).collect();
        assert_eq!(
            names,
            [
                "update",
                "get",
                "merge",
                "removeKeys",
                "setKey",
                "setKeys",
                "getKey",
                "hasKey",
                "clear"
            ]
        );
    }
}
