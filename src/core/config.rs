//! Client configuration: the secret key and the API origin, checked once per client.

use super::error::{quoted, Error, ErrorKind};

/// Clerk's production Backend API origin.
pub const DEFAULT_API_URL: &str = "https://api.clerk.com";
/// The API version every request pins (see `Clerk-API-Version`).
pub const API_VERSION: &str = "2026-05-12";
/// Sent as `User-Agent`, so Clerk's logs can tell this client apart.
pub const USER_AGENT: &str = concat!("clerk-metadata-wasm/", env!("CARGO_PKG_VERSION"));

/// A secret key that never prints itself.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey(String);

impl SecretKey {
    /// Checks the form of a key without ever echoing it. Surrounding whitespace is trimmed, as
    /// `@clerk/backend` does: `.env` files and secret stores often keep a trailing newline.
    pub fn parse(raw: Option<&str>) -> Result<SecretKey, Error> {
        let key = raw.unwrap_or("").trim();
        if key.trim().is_empty() {
            return Err(Error::new(
                ErrorKind::MissingSecretKey,
                "Missing CLERK_SECRET_KEY",
            ));
        }
        let well_formed = (key.starts_with("sk_test_") || key.starts_with("sk_live_"))
            && key.len() > "sk_test_".len()
            && key.len() <= 512
            && key.bytes().all(|b| b.is_ascii_graphic());
        if !well_formed {
            return Err(Error::new(
                ErrorKind::InvalidSecretKey,
                "Invalid CLERK_SECRET_KEY: expected a Clerk secret key starting with sk_test_ or sk_live_ (the key itself is not shown)",
            ));
        }
        Ok(SecretKey(key.to_owned()))
    }

    /// The value of the `Authorization` header.
    pub fn bearer(&self) -> String {
        format!("Bearer {}", self.0)
    }

    /// Production keys get Clerk's larger instance-wide rate limit.
    pub fn is_live(&self) -> bool {
        self.0.starts_with("sk_live_")
    }
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let prefix = if self.is_live() {
            "sk_live_"
        } else {
            "sk_test_"
        };
        write!(f, "SecretKey({prefix}…)")
    }
}

/// A checked API base: scheme, host, optional port and path prefix, no trailing slash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiBase(String);

impl ApiBase {
    /// Accepts `https://host[:port][/prefix]`, or `http:` only for loopback hosts (local test
    /// servers); anything else would send the secret key in clear text.
    pub fn parse(raw: Option<&str>) -> Result<ApiBase, Error> {
        let url = match raw.map(str::trim) {
            None | Some("") => DEFAULT_API_URL,
            Some(url) => url,
        };
        // A URL with credentials in it, or anything shaped like a key pasted into the wrong
        // variable, is never echoed.
        let shown = if url.contains('@') {
            "(not shown: it contains credentials)".to_owned()
        } else if looks_like_a_key(url) {
            "(not shown: it looks like a secret key; CLERK_API_URL takes a URL)".to_owned()
        } else {
            quoted(url)
        };
        let invalid = |why: &str| {
            Error::new(
                ErrorKind::InvalidApiUrl,
                format!("Invalid CLERK_API_URL {shown}: {why}"),
            )
        };
        if url.len() > 2048 || url.chars().any(|c| c.is_control() || c == ' ') {
            return Err(invalid("it contains spaces or control characters"));
        }
        // Split at the first ':' and require "//" after it (a substring search would bring a
        // two-way string searcher into the wasm for this one line).
        let (scheme, rest) = url
            .split_once(':')
            .and_then(|(scheme, rest)| Some((scheme, rest.strip_prefix("//")?)))
            .ok_or_else(|| invalid("expected an absolute URL such as https://api.clerk.com"))?;
        let scheme = scheme.to_ascii_lowercase();
        if rest.contains(['?', '#']) {
            return Err(invalid("a query or fragment is not allowed"));
        }
        let (authority, path) = match rest.find('/') {
            // `find` gives a boundary, but the checked form keeps panic code out of the wasm.
            Some(index) => rest.split_at_checked(index).unwrap_or((rest, "")),
            None => (rest, ""),
        };
        if authority.is_empty() {
            return Err(invalid("the host is missing"));
        }
        if authority.contains('@') {
            return Err(invalid("credentials in the URL are not allowed"));
        }
        let host = host_of(authority).ok_or_else(|| invalid("the host or port is malformed"))?;
        match scheme.as_str() {
            "https" => {}
            "http" if is_loopback(&host) => {}
            "http" => {
                return Err(invalid(
                    "http: is only allowed for loopback hosts (127.0.0.1, localhost, [::1]); use https:",
                ))
            }
            _ => return Err(invalid("the scheme must be https: (or http: on loopback)")),
        }
        if path
            .split('/')
            .any(|segment| segment == "." || segment == "..")
        {
            return Err(invalid("dot segments are not allowed in the path"));
        }
        // Every request path starts with /v1; a base that already ends in it (a common mistake,
        // copying the documented base URL) would send /v1/v1/...
        let path = path.trim_end_matches('/');
        let path = path.strip_suffix("/v1").unwrap_or(path);
        Ok(ApiBase(format!("{scheme}://{authority}{path}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Extracts the host from `host[:port]` or `[v6][:port]`, checking the port is numeric.
fn host_of(authority: &str) -> Option<String> {
    let (host, port) = if let Some(stripped) = authority.strip_prefix('[') {
        let (host, after) = stripped.split_once(']')?;
        (format!("[{host}]"), after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host.to_owned(), Some(port)),
            None => (authority.to_owned(), None),
        }
    };
    if let Some(port) = port {
        let in_range = port.len() <= 5 && port.parse::<u16>().is_ok_and(|port| port > 0);
        if !(in_range && port.bytes().all(|b| b.is_ascii_digit())) {
            return None;
        }
    }
    let valid_host = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-_[]:".contains(&b));
    valid_host.then(|| host.to_ascii_lowercase())
}

/// Clerk's secret and publishable keys, and anything with their prefixes.
fn looks_like_a_key(text: &str) -> bool {
    ["sk_", "pk_", "whsec_"]
        .iter()
        .any(|prefix| text.to_ascii_lowercase().contains(prefix))
}

fn is_loopback(host: &str) -> bool {
    let octet = |part: &str| !part.is_empty() && part.len() <= 3 && part.parse::<u8>().is_ok();
    host == "localhost"
        || host == "[::1]"
        || host.strip_prefix("127.").is_some_and(|rest| {
            let parts: Vec<&str> = rest.split('.').collect();
            parts.len() == 3 && parts.iter().all(|part| octet(part))
        })
}

/// Everything a client needs to address Clerk.
#[derive(Debug, Clone)]
pub struct Config {
    pub secret_key: SecretKey,
    pub api_base: ApiBase,
}

/// Where the client runs, as far as the secret key is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Host {
    /// A `window` or `document` global exists: anyone who can open devtools could read the key.
    pub browser_like: bool,
    /// The caller said `dangerouslyAllowBrowser: true` (a test browser, an Electron main process).
    pub allow_browser: bool,
}

impl Host {
    pub const SERVER: Host = Host {
        browser_like: false,
        allow_browser: false,
    };
}

impl Config {
    /// Checks the key, the API URL and the host, in that order.
    pub fn new(
        secret_key: Option<&str>,
        api_url: Option<&str>,
        host: Host,
    ) -> Result<Config, Error> {
        if host.browser_like && !host.allow_browser {
            return Err(Error::new(
                ErrorKind::BrowserNotAllowed,
                "refusing to use a Clerk secret key in a browser-like environment (a window or document global exists), where page scripts could read it; pass dangerouslyAllowBrowser: true only if this code really runs on a server",
            ));
        }
        Ok(Config {
            secret_key: SecretKey::parse(secret_key)?,
            api_base: ApiBase::parse(api_url)?,
        })
    }

    /// The absolute URL of a request path such as `/v1/users/user_1`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.api_base.as_str(), path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "sk_test_abcdefghijklmnopqrstuvwxyz0123456789";

    #[test]
    fn missing_key_uses_the_seed_message() {
        for raw in [None, Some(""), Some("   ")] {
            let error = SecretKey::parse(raw).unwrap_err();
            assert_eq!(error.kind, ErrorKind::MissingSecretKey);
            assert_eq!(error.reason, "Missing CLERK_SECRET_KEY");
        }
    }

    #[test]
    fn malformed_keys_are_refused_without_echoing_them() {
        for raw in [
            "pk_test_abc",
            "sk_test_",
            "sk_prod_secretvalue",
            "sk_test_has space",
            "sk_test_tab\there",
        ] {
            let error = SecretKey::parse(Some(raw)).unwrap_err();
            assert_eq!(error.kind, ErrorKind::InvalidSecretKey, "{raw}");
            if raw.len() > "sk_test_".len() {
                assert!(!error.reason.contains(raw), "{raw}");
            }
        }
    }

    #[test]
    fn debug_never_shows_the_key() {
        let key = SecretKey::parse(Some(KEY)).unwrap();
        let config = Config::new(Some(KEY), None, Host::SERVER).unwrap();
        assert!(!format!("{key:?}{config:?}").contains("abcdefghijklmnop"));
        assert_eq!(key.bearer(), format!("Bearer {KEY}"));
        assert!(!key.is_live());
    }

    #[test]
    fn credentials_in_the_url_are_never_echoed() {
        let error = ApiBase::parse(Some("https://user:hunter2@api.clerk.com")).unwrap_err();
        assert!(!error.reason.contains("hunter2"), "{}", error.reason);
    }

    #[test]
    fn browser_like_hosts_need_the_explicit_opt_in() {
        let browser = Host {
            browser_like: true,
            allow_browser: false,
        };
        let error = Config::new(Some(KEY), None, browser).unwrap_err();
        assert_eq!(error.code(), "browser_not_allowed");
        assert!(error.reason.contains("dangerouslyAllowBrowser"));
        let allowed = Host {
            allow_browser: true,
            ..browser
        };
        assert!(Config::new(Some(KEY), None, allowed).is_ok());
    }

    #[test]
    fn api_url_defaults_and_normalises() {
        let default = Config::new(Some(KEY), None, Host::SERVER).unwrap();
        assert_eq!(
            default.url("/v1/users/u"),
            "https://api.clerk.com/v1/users/u"
        );
        for (raw, expected) in [
            ("https://api.clerk.com/", "https://api.clerk.com"),
            (
                "HTTPS://proxy.example.com/clerk/",
                "https://proxy.example.com/clerk",
            ),
            ("http://127.0.0.1:4010", "http://127.0.0.1:4010"),
            ("http://localhost:9", "http://localhost:9"),
            ("http://[::1]:8080/", "http://[::1]:8080"),
        ] {
            assert_eq!(
                ApiBase::parse(Some(raw)).unwrap().as_str(),
                expected,
                "{raw}"
            );
        }
    }

    #[test]
    fn unsafe_api_urls_are_refused() {
        for raw in [
            "http://api.clerk.com",
            "http://127.0.0.1.evil.com",
            "http://127.0.attacker.example",
            "http://127.0.0.256",
            "http://127.0.0.01x",
            "http://10.0.0.1",
            "ftp://api.clerk.com",
            "api.clerk.com",
            "https://user:pass@api.clerk.com",
            "https://api.clerk.com?x=1",
            "https://api.clerk.com/#x",
            "https://api.clerk.com:port",
            "https://api.clerk.com/../x",
            "https:///path",
            "https://api clerk.com",
        ] {
            let error = ApiBase::parse(Some(raw)).unwrap_err();
            assert_eq!(error.kind, ErrorKind::InvalidApiUrl, "{raw}");
        }
    }
}
