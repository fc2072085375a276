//! MQTT topic names and filters: what the protocol allows.

/// Checks a subscription filter: `+` and `#` only as whole levels, `#`
/// last; `$share/<group>/<filter>` with a group name.
pub fn check_filter(filter: &str) -> Result<(), String> {
    let inner = match filter.strip_prefix("$share/") {
        Some(rest) => {
            let (group, f) = rest
                .split_once('/')
                .ok_or_else(|| format!("'{filter}': write $share/<group>/<filter>"))?;
            if group.is_empty() || group.contains(['+', '#']) {
                return Err(format!(
                    "'{filter}': the share group name is empty or has + or #"
                ));
            }
            f
        }
        None => filter,
    };
    if inner.is_empty() {
        return Err(format!("'{filter}': an empty topic filter"));
    }
    if inner.contains('\0') {
        return Err(format!("'{filter}': a topic filter may not contain NUL"));
    }
    let levels: Vec<&str> = inner.split('/').collect();
    for (i, level) in levels.iter().enumerate() {
        if level.contains('#') && (*level != "#" || i + 1 != levels.len()) {
            return Err(format!(
                "'{filter}': # must be a whole level and the last one"
            ));
        }
        if level.contains('+') && *level != "+" {
            return Err(format!("'{filter}': + must be a whole level"));
        }
    }
    Ok(())
}

/// Whether this is a shared subscription (`$share/...`), which spreads
/// messages over the subscribers instead of copying them to each.
pub fn is_shared(filter: &str) -> bool {
    filter.starts_with("$share/")
}

/// Checks a topic name to publish to: not empty, no wildcards, no NUL.
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the MQTT topic is empty".into());
    }
    if name.contains(['+', '#', '\0']) {
        return Err(format!("the MQTT topic '{name}' contains +, # or NUL"));
    }
    if name.len() > 65535 {
        return Err("the MQTT topic is longer than 65535 bytes".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters() {
        for ok in ["a", "a/+/b", "a/#", "#", "+", "$share/g/a/+", "/a"] {
            assert!(check_filter(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "a/#/b",
            "a#",
            "a+/b",
            "$share/g",
            "$share//a",
            "$share/g/",
        ] {
            assert!(check_filter(bad).is_err(), "{bad}");
        }
        assert!(is_shared("$share/g/a"));
        assert!(check_name("a/b").is_ok());
        assert!(check_name("a/+").is_err());
        assert!(check_name("").is_err());
    }
}
