//! OAUTHBEARER tokens for distributed mode's group client (librdkafka's
//! clients get theirs from librdkafka's own OIDC login): Kafka's OIDC
//! client-credentials login (KIP-768), with the same keys. A
//! `client_credentials` POST to `sasl.oauthbearer.token.endpoint.url`
//! with the client id and secret in HTTP basic auth (and `scope`); the
//! answer's `access_token` is kept until 80% of its `expires_in` (else
//! its JWT `exp`, else an hour) has passed.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

/// How long a token request may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// One client's OIDC login.
pub struct OidcTokens {
    url: String,
    client_id: String,
    secret: String,
    scope: Option<String>,
    cached: Mutex<Option<(String, Instant)>>,
}

impl std::fmt::Debug for OidcTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret or a token.
        f.debug_struct("OidcTokens")
            .field("url", &self.url)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl OidcTokens {
    pub fn new(url: String, client_id: String, secret: String, scope: Option<String>) -> Self {
        Self {
            url,
            client_id,
            secret,
            scope,
            cached: Mutex::new(None),
        }
    }

    /// The cached token while it is fresh.
    fn fresh(&self) -> Option<String> {
        let cached = self.cached.lock().ok()?;
        let (token, until) = cached.as_ref()?;
        (Instant::now() < *until).then(|| token.clone())
    }

    async fn fetch(&self) -> Result<(String, Duration), String> {
        use hyper::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
        let client = crate::http_client::HttpClient::system()?;
        let body = {
            let mut form = form_urlencoded::Serializer::new(String::new());
            form.append_pair("grant_type", "client_credentials");
            if let Some(scope) = &self.scope {
                form.append_pair("scope", scope);
            }
            form.finish()
        };
        // As librdkafka and Kafka (`sasl.oauthbearer.header.urlencode`
        // false by default) send them: id and secret as they are.
        let basic = STANDARD.encode(format!("{}:{}", self.client_id, self.secret));
        let headers = [
            (
                AUTHORIZATION,
                HeaderValue::from_str(&format!("Basic {basic}")).map_err(|e| e.to_string())?,
            ),
            (
                CONTENT_TYPE,
                HeaderValue::from_static("application/x-www-form-urlencoded"),
            ),
            (ACCEPT, HeaderValue::from_static("application/json")),
        ];
        let a = client
            .send(
                hyper::Method::POST,
                &self.url,
                &headers,
                bytes::Bytes::from(body),
                TIMEOUT,
            )
            .await
            .map_err(|e| format!("OAuth token endpoint: {e}"))?;
        if !a.status.is_success() {
            let body: String = String::from_utf8_lossy(&a.body).chars().take(300).collect();
            return Err(format!(
                "the OAuth token endpoint {} answered {}: {body}",
                self.url, a.status
            ));
        }
        parse_answer(&a.body, unix_now())
    }
}

impl sluice_group::TokenSource for OidcTokens {
    fn token(&self) -> sluice_group::TokenFuture<'_> {
        Box::pin(async move {
            if let Some(token) = self.fresh() {
                return Ok(token);
            }
            let (token, lifetime) = self.fetch().await?;
            // At most a day, whatever the answer says.
            let keep = lifetime.mul_f64(0.8).min(Duration::from_secs(86_400));
            if let (Some(until), Ok(mut c)) = (Instant::now().checked_add(keep), self.cached.lock())
            {
                *c = Some((token.clone(), until));
            }
            Ok(token)
        })
    }

    fn invalidate(&self) {
        if let Ok(mut c) = self.cached.lock() {
            *c = None;
        }
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The token and how long it lives, from a token endpoint's answer.
fn parse_answer(body: &[u8], now_secs: u64) -> Result<(String, Duration), String> {
    let v: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| format!("the OAuth token endpoint's answer is not JSON: {e}"))?;
    let token = v["access_token"]
        .as_str()
        .filter(|t| !t.is_empty())
        .ok_or("the OAuth token endpoint's answer has no access_token")?
        .to_string();
    let exp = token
        .split('.')
        .nth(1)
        .and_then(|p| URL_SAFE_NO_PAD.decode(p.trim_end_matches('=')).ok())
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|c| c["exp"].as_u64());
    let lifetime = match (v["expires_in"].as_u64(), exp) {
        (Some(secs), _) if secs > 0 => Duration::from_secs(secs),
        (_, Some(exp)) => Duration::from_secs(exp.saturating_sub(now_secs)),
        // An opaque token with no lifetime (librdkafka would refuse it;
        // the group client keeps it for an hour).
        _ => Duration::from_secs(3600),
    };
    Ok((token, lifetime))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_answers() {
        let claims = URL_SAFE_NO_PAD.encode(r#"{"sub":"svc","exp":2000}"#);
        let jwt = format!("e30.{claims}.sig");
        let body = format!(r#"{{"access_token":"{jwt}","expires_in":300}}"#);
        assert_eq!(
            parse_answer(body.as_bytes(), 1000).unwrap(),
            (jwt.clone(), Duration::from_secs(300))
        );
        let body = format!(r#"{{"access_token":"{jwt}"}}"#);
        assert_eq!(
            parse_answer(body.as_bytes(), 1000).unwrap().1,
            Duration::from_secs(1000)
        );
        assert_eq!(
            parse_answer(br#"{"access_token":"opaque"}"#, 0).unwrap().1,
            Duration::from_secs(3600)
        );
        assert!(parse_answer(b"{}", 0).is_err());
        assert!(parse_answer(b"<html>", 0).is_err());
        let t = OidcTokens::new("u".into(), "id".into(), "s3cret".into(), None);
        assert!(!format!("{t:?}").contains("s3cret"));
    }
}
