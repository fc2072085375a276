//! Avro binary primitives: zig-zag varints, length-prefixed bytes, fixed
//! values, array and map blocks.

use apache_avro::Schema as Avro;
use apache_avro::schema::{InnerDecimalSchema, UuidSchema};

use super::error::{AvroError, Path};

/// Zig-zag varint, as Avro writes `int` and `long`.
pub(crate) fn write_long(out: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z > 0x7f {
        out.push((z as u8 & 0x7f) | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}

pub(crate) fn write_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    write_long(out, bytes.len() as i64);
    out.extend_from_slice(bytes);
}

/// Bytes as the Avro type `avro` stores them: length-prefixed, or exactly
/// `size` bytes for a fixed (a decimal's value sign-extended to fill it).
pub(crate) fn write_bytes_as(
    out: &mut Vec<u8>,
    b: &[u8],
    avro: &Avro,
    path: &Path<'_>,
) -> Result<(), AvroError> {
    let (size, sign_extend) = match avro {
        Avro::Fixed(f) | Avro::Uuid(UuidSchema::Fixed(f)) => (f.size, false),
        Avro::Duration(_) => (12, false),
        Avro::Decimal(d) => match &d.inner {
            InnerDecimalSchema::Fixed(f) => (f.size, true),
            InnerDecimalSchema::Bytes => {
                write_bytes(out, b);
                return Ok(());
            }
        },
        _ => {
            write_bytes(out, b);
            return Ok(());
        }
    };
    if b.len() == size {
        out.extend_from_slice(b);
    } else if sign_extend && b.len() < size {
        let fill = if b.first().is_some_and(|x| x & 0x80 != 0) {
            0xff
        } else {
            0
        };
        out.extend(std::iter::repeat_n(fill, size - b.len()));
        out.extend_from_slice(b);
    } else {
        return Err(AvroError::data(
            path,
            format!("{} bytes do not fit an Avro fixed of size {size}", b.len()),
        ));
    }
    Ok(())
}

pub(crate) fn block_start(out: &mut Vec<u8>, len: usize) {
    if len > 0 {
        write_long(out, len as i64);
    }
}

pub(crate) fn block_end(out: &mut Vec<u8>) {
    out.push(0);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zig_zag_varints() {
        let cases: &[(i64, &[u8])] = &[
            (0, &[0]),
            (-1, &[1]),
            (1, &[2]),
            (-64, &[0x7f]),
            (64, &[0x80, 0x01]),
            (
                i64::MAX,
                &[0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
            ),
            (
                i64::MIN,
                &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
            ),
        ];
        for (v, bytes) in cases {
            let mut out = Vec::new();
            write_long(&mut out, *v);
            assert_eq!(out, *bytes, "{v}");
        }
    }

    #[test]
    fn fixed_values() {
        let root = Path::Root;
        let fixed = Avro::parse_str(r#"{"type":"fixed","name":"F","size":3}"#).unwrap();
        let mut out = Vec::new();
        write_bytes_as(&mut out, &[1, 2, 3], &fixed, &root).unwrap();
        assert_eq!(out, [1, 2, 3]);
        let err = write_bytes_as(&mut out, &[1, 2], &fixed, &root).unwrap_err();
        assert_eq!(
            err.to_string(),
            "2 bytes do not fit an Avro fixed of size 3"
        );
        let dec = Avro::parse_str(
            r#"{"type":"fixed","name":"D","size":4,"logicalType":"decimal","precision":9}"#,
        )
        .unwrap();
        let mut out = Vec::new();
        write_bytes_as(&mut out, &[0xff, 0x38], &dec, &root).unwrap();
        write_bytes_as(&mut out, &[0x7f], &dec, &root).unwrap();
        assert_eq!(out, [0xff, 0xff, 0xff, 0x38, 0, 0, 0, 0x7f]);
    }
}
