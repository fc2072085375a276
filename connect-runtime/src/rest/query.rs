//! Request details read the way Kafka Connect's JAX-RS resources read them,
//! so clients written against Kafka Connect work unchanged: boolean query
//! parameters with `Boolean.valueOf` semantics, a trailing slash ignored.

use axum::extract::Request;
use axum::http::Uri;
use serde::{Deserialize, Deserializer};

/// A boolean query parameter as `Boolean.valueOf` reads it: `true` in any
/// case is true, anything else (`False`, `1`, `yes`, empty) is false. A
/// Python client sends `True`; a strict parser would answer 400.
pub(crate) fn jax_bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    let text = String::deserialize(d)?;
    Ok(text.eq_ignore_ascii_case("true"))
}

/// The default of a [`jax_bool`] parameter whose absence means `true`.
pub(crate) fn default_true() -> bool {
    true
}

/// `/connectors/` is `/connectors`, as Jersey matches it. The root stays.
pub(crate) fn trim_trailing_slash(mut req: Request) -> Request {
    let path = req.uri().path();
    if path.len() > 1 && path.ends_with('/') {
        let trimmed = path.trim_end_matches('/');
        let trimmed = if trimmed.is_empty() { "/" } else { trimmed };
        let rebuilt = match req.uri().query() {
            Some(q) => format!("{trimmed}?{q}"),
            None => trimmed.to_string(),
        };
        if let Ok(uri) = rebuilt.parse::<Uri>() {
            *req.uri_mut() = uri;
        }
    }
    req
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Q {
        #[serde(default, deserialize_with = "jax_bool")]
        flag: bool,
        #[serde(default = "default_true", deserialize_with = "jax_bool")]
        on: bool,
    }

    fn q(query: &str) -> Q {
        let uri: Uri = format!("/x?{query}").parse().unwrap();
        axum::extract::Query::<Q>::try_from_uri(&uri).unwrap().0
    }

    #[test]
    fn booleans_read_like_boolean_value_of() {
        for (text, expected) in [
            ("true", true),
            ("True", true),
            ("TRUE", true),
            ("False", false),
            ("false", false),
            ("1", false),
            ("yes", false),
            ("", false),
        ] {
            assert_eq!(q(&format!("flag={text}")).flag, expected, "{text}");
        }
        let none = q("unknown=1");
        assert!(!none.flag);
        assert!(none.on, "absent means true");
        assert!(!q("on=False").on);
    }

    #[test]
    fn trailing_slashes_are_dropped_but_not_the_root() {
        let path = |uri: &str| {
            let req = Request::builder()
                .uri(uri)
                .body(axum::body::Body::empty())
                .unwrap();
            trim_trailing_slash(req).uri().to_string()
        };
        assert_eq!(path("/connectors/"), "/connectors");
        assert_eq!(path("/connectors/a/status/"), "/connectors/a/status");
        assert_eq!(
            path("/connectors/?expand=status"),
            "/connectors?expand=status"
        );
        assert_eq!(path("/"), "/");
        assert_eq!(path("/connectors"), "/connectors");
    }
}
