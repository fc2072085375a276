//! Java properties files (worker and connector configs, credentials
//! files): any text parses or fails with an error, never a panic, and a
//! parsed file's pairs survive being written back and parsed again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice_runtime::config::properties::parse;

fuzz_target!(|text: &str| {
    let Ok(pairs) = parse(text) else { return };
    // Written back with every special character escaped, the file reads
    // the same.
    let escape = |s: &str, key: bool| {
        let mut out = String::new();
        for (i, c) in s.chars().enumerate() {
            match c {
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\u{c}' => out.push_str("\\f"),
                '=' | ':' | '#' | '!' => {
                    out.push('\\');
                    out.push(c);
                }
                ' ' if key || i == 0 => out.push_str("\\ "),
                c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                    for unit in c.encode_utf16(&mut [0; 2]) {
                        out.push_str(&format!("\\u{unit:04x}"));
                    }
                }
                c => out.push(c),
            }
        }
        out
    };
    let written: String = pairs
        .iter()
        .map(|(k, v)| format!("{}={}\n", escape(k, true), escape(v, false)))
        .collect();
    let again = parse(&written).expect("a written-back file parses");
    assert_eq!(again, pairs, "{written}");
});
