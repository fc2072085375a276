//! Request details read the way Kafka Connect's JAX-RS resources read them,
//! so clients written against Kafka Connect work unchanged: boolean query
//! parameters with `Boolean.valueOf` semantics, the first of repeated
//! parameters, unknown ones ignored, a trailing slash ignored.

use axum::extract::Request;
use axum::http::Uri;

/// Every value of a query parameter, percent-decoded, in order.
pub(crate) fn all(query: Option<&str>, key: &str) -> Vec<String> {
    form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
        .collect()
}

/// A single-valued query parameter: JAX-RS takes the first when it is
/// repeated.
pub(crate) fn first(query: Option<&str>, key: &str) -> Option<String> {
    all(query, key).into_iter().next()
}

/// A boolean query parameter as `Boolean.valueOf` reads it: `true` in any
/// case is true, anything else (`False`, `1`, `yes`, empty) is false; an
/// absent one is `default`. A Python client sends `True`; a strict parser
/// would answer 400.
pub(crate) fn flag(query: Option<&str>, key: &str, default: bool) -> bool {
    first(query, key).map_or(default, |v| v.eq_ignore_ascii_case("true"))
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

    #[test]
    fn booleans_read_like_boolean_value_of() {
        for (text, expected) in [
            ("true", true),
            ("True", true),
            ("TRUE", true),
            ("%74rue", true),
            ("False", false),
            ("false", false),
            ("1", false),
            ("yes", false),
            ("", false),
        ] {
            assert_eq!(
                flag(Some(&format!("f={text}")), "f", false),
                expected,
                "{text}"
            );
            assert_eq!(
                flag(Some(&format!("f={text}")), "f", true),
                expected,
                "{text}"
            );
        }
        assert!(!flag(Some("unknown=1"), "f", false));
        assert!(
            flag(Some("unknown=1"), "f", true),
            "absent means the default"
        );
        assert!(flag(None, "f", true));
        // Repeated: the first counts, as in JAX-RS.
        assert!(flag(Some("f=true&f=false"), "f", false));
        assert!(!flag(Some("f=no&f=true"), "f", false));
    }

    #[test]
    fn repeated_values_are_kept_in_order_and_decoded() {
        assert_eq!(
            all(Some("expand=status&x=1&expand=in%66o&expand"), "expand"),
            vec!["status", "info", ""]
        );
        assert!(all(None, "expand").is_empty());
        assert_eq!(first(Some("a=1&a=2"), "a").as_deref(), Some("1"));
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
