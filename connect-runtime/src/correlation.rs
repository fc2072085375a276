//! Correlation ids: a header (default `correlation-id`, connector key
//! `correlation.id.header`, empty to turn off) that travels with each record
//! from the source system to the sink, the dead letter queue and error logs.
//! A source record that already carries one keeps it; otherwise the source
//! task gives it a new id, unique per worker run.

use sluice_connect_api::Header;
use sluice_connect_api::schema::{Schema, Value};

pub const HEADER_KEY: &str = "correlation.id.header";
pub const DEFAULT_HEADER: &str = "correlation-id";

/// Makes ids for one source task: a per-run prefix and a counter.
#[derive(Debug, Clone)]
pub struct Correlation {
    header: String,
    prefix: String,
    next: u64,
}

impl Correlation {
    /// `None` when the connector turned correlation ids off.
    pub fn from_config(
        config: &sluice_connect_api::Config,
        connector: &str,
        task: u32,
    ) -> Option<Self> {
        let header = config.get(HEADER_KEY).map_or(DEFAULT_HEADER, |h| h.trim());
        if header.is_empty() {
            return None;
        }
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (connector, task).hash(&mut h);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        Some(Self {
            header: header.to_string(),
            prefix: format!("{:016x}", h.finish() ^ nanos),
            next: 0,
        })
    }

    pub fn header(&self) -> &str {
        &self.header
    }

    /// Adds an id unless the record already has a non-null one.
    pub fn ensure(&mut self, headers: &mut Vec<Header>) {
        if headers
            .iter()
            .any(|h| h.key == self.header && !h.value.is_null())
        {
            return;
        }
        self.next += 1;
        // `{prefix}-{next:x}` without the formatting machinery: this runs
        // for every record of every source task by default.
        let mut id = String::with_capacity(self.prefix.len() + 17);
        id.push_str(&self.prefix);
        id.push('-');
        push_hex(&mut id, self.next);
        headers.reserve_exact(1);
        headers.push(Header {
            key: self.header.clone(),
            schema: Some(Schema::string()),
            value: Value::String(id),
        });
    }
}

/// Appends `n` in lower-case hex, no leading zeros.
fn push_hex(s: &mut String, n: u64) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut buf = [0u8; 16];
    let mut i = buf.len();
    let mut n = n;
    loop {
        i -= 1;
        buf[i] = DIGITS[(n & 0xf) as usize];
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    s.extend(buf[i..].iter().map(|&b| char::from(b)));
}

/// The correlation id among raw headers, for logs.
pub fn find(header: &str, headers: &[(String, Option<Vec<u8>>)]) -> Option<String> {
    headers
        .iter()
        .rev()
        .find(|(k, _)| k == header)
        .and_then(|(_, v)| v.as_deref())
        .map(|v| String::from_utf8_lossy(v).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_prefix_dash_hex() {
        for n in [0u64, 1, 15, 16, 255, 0xdead_beef, u64::MAX] {
            let mut s = String::from("p-");
            push_hex(&mut s, n);
            assert_eq!(s, format!("p-{n:x}"));
        }
    }

    #[test]
    fn kept_when_present_created_otherwise_unique() {
        let mut c = Correlation::from_config(&Default::default(), "c", 0).unwrap();
        let mut given = vec![Header {
            key: "correlation-id".into(),
            schema: None,
            value: Value::String("from-upstream".into()),
        }];
        c.ensure(&mut given);
        assert_eq!(given.len(), 1);
        assert_eq!(given[0].value, Value::String("from-upstream".into()));
        let (mut a, mut b) = (Vec::new(), Vec::new());
        c.ensure(&mut a);
        c.ensure(&mut b);
        assert_eq!(a.len(), 1);
        assert_ne!(a[0].value, b[0].value);
        let raw = vec![("correlation-id".to_string(), Some(b"x-1".to_vec()))];
        assert_eq!(find("correlation-id", &raw).as_deref(), Some("x-1"));
    }

    #[test]
    fn configurable_and_can_be_turned_off() {
        let mut cfg = sluice_connect_api::Config::new();
        cfg.insert(HEADER_KEY.into(), "trace".into());
        let c = Correlation::from_config(&cfg, "c", 0).unwrap();
        assert_eq!(c.header(), "trace");
        cfg.insert(HEADER_KEY.into(), " ".into());
        assert!(Correlation::from_config(&cfg, "c", 0).is_none());
    }
}
