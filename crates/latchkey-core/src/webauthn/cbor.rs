//! Thin helpers over `ciborium` for the CBOR structures WebAuthn sends:
//! decoding a value while knowing exactly how many bytes it consumed (trailing
//! data is an attack surface, so callers refuse it), and looking up map entries
//! by text or integer label. No WebAuthn semantics live here.

use ciborium::value::Value;

use crate::error::{fail, ErrorCode, Result};

/// Decodes one CBOR item from the front of `bytes`, returning it and the rest.
pub(crate) fn decode_prefix<'a>(
    bytes: &'a [u8],
    code: ErrorCode,
    what: &str,
) -> Result<(Value, &'a [u8])> {
    let mut rest = bytes;
    // ciborium reads exactly the bytes of one item, so the slice left behind
    // is precisely the unconsumed tail.
    match ciborium::de::from_reader::<Value, _>(&mut rest) {
        Ok(value) => Ok((value, rest)),
        Err(_) => fail(code, format!("{what} is not valid CBOR")),
    }
}

/// Decodes `bytes` as exactly one CBOR item; trailing bytes are refused.
pub(crate) fn decode_exact(bytes: &[u8], code: ErrorCode, what: &str) -> Result<Value> {
    let (value, rest) = decode_prefix(bytes, code, what)?;
    if !rest.is_empty() {
        return fail(code, format!("{what} has trailing bytes after its CBOR"));
    }
    Ok(value)
}

/// The entries of a CBOR map, or an error naming `what`.
pub(crate) fn as_map<'v>(
    value: &'v Value,
    code: ErrorCode,
    what: &str,
) -> Result<&'v [(Value, Value)]> {
    match value {
        Value::Map(entries) => Ok(entries),
        _ => fail(code, format!("{what} is not a CBOR map")),
    }
}

/// The value under a text key.
pub(crate) fn get_text_key<'v>(map: &'v [(Value, Value)], key: &str) -> Option<&'v Value> {
    map.iter()
        .find(|(k, _)| matches!(k, Value::Text(t) if t == key))
        .map(|(_, v)| v)
}

pub(crate) fn as_i64(value: &Value) -> Option<i64> {
    match value {
        Value::Integer(i) => i64::try_from(*i).ok(),
        _ => None,
    }
}

pub(crate) fn as_bytes(value: &Value) -> Option<&[u8]> {
    match value {
        Value::Bytes(b) => Some(b),
        _ => None,
    }
}

pub(crate) fn as_text(value: &Value) -> Option<&str> {
    match value {
        Value::Text(t) => Some(t),
        _ => None,
    }
}

/// A CBOR integer, for tests that build maps by hand.
#[cfg(test)]
pub(crate) fn int(v: i64) -> Value {
    Value::Integer(ciborium::value::Integer::from(v))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn encode(value: &Value) -> Vec<u8> {
        let mut out = Vec::new();
        ciborium::ser::into_writer(value, &mut out).unwrap();
        out
    }

    #[test]
    fn decode_exact_refuses_trailing_bytes() {
        let mut bytes = encode(&Value::Map(vec![(int(1), int(2))]));
        assert!(decode_exact(&bytes, ErrorCode::MalformedAttestationObject, "x").is_ok());
        bytes.push(0x00);
        let err = decode_exact(&bytes, ErrorCode::MalformedAttestationObject, "x").unwrap_err();
        assert_eq!(err.code, ErrorCode::MalformedAttestationObject);
    }

    #[test]
    fn decode_prefix_returns_the_unconsumed_tail() {
        let mut bytes = encode(&Value::Bytes(vec![1, 2, 3]));
        bytes.extend_from_slice(&[0xAA, 0xBB]);
        let (value, rest) = decode_prefix(&bytes, ErrorCode::InvalidPublicKey, "key").unwrap();
        assert_eq!(value, Value::Bytes(vec![1, 2, 3]));
        assert_eq!(rest, &[0xAA, 0xBB]);
    }

    #[test]
    fn truncated_cbor_is_refused() {
        let bytes = encode(&Value::Bytes(vec![1, 2, 3]));
        assert!(decode_exact(&bytes[..2], ErrorCode::InvalidPublicKey, "key").is_err());
    }
}
