//! Composite keys, encoded exactly as the Go shim does:
//! `"\0" + objectType + "\0" + attr1 + "\0" + … + attrN + "\0"`.
//!
//! The leading U+0000 puts composite keys in their own namespace: simple keys
//! may not start with it, and an open range query (which starts at `"\x01"`)
//! never returns them.

use crate::ShimError;

/// U+0000: the namespace prefix and the separator of composite keys.
pub(crate) const MIN_UNICODE_RUNE: char = '\u{0}';
/// U+10FFFF: appended to a partial composite key to end its range.
pub(crate) const MAX_UNICODE_RUNE: char = char::MAX;
/// What the Go shim sends instead of an empty start key of a range query.
pub(crate) const EMPTY_KEY_SUBSTITUTE: &str = "\u{1}";

/// Builds the composite key of `object_type` and `attributes`.
///
/// Parts may not contain U+0000 or U+10FFFF (they are `&str`, so they are
/// valid UTF-8 by construction, which the Go shim checks at run time).
pub fn create_composite_key(object_type: &str, attributes: &[&str]) -> Result<String, ShimError> {
    validate_attribute(object_type)?;
    let mut key = String::with_capacity(
        2 + object_type.len() + attributes.iter().map(|a| a.len() + 1).sum::<usize>(),
    );
    key.push(MIN_UNICODE_RUNE);
    key.push_str(object_type);
    key.push(MIN_UNICODE_RUNE);
    for attribute in attributes {
        validate_attribute(attribute)?;
        key.push_str(attribute);
        key.push(MIN_UNICODE_RUNE);
    }
    Ok(key)
}

/// Splits a composite key into its object type and attributes.
///
/// Like the Go shim, the first character (the namespace) is skipped and any
/// text after the last separator is ignored; a key with no complete object type
/// is an error (Go would panic).
pub fn split_composite_key(composite_key: &str) -> Result<(String, Vec<String>), ShimError> {
    let not_composite = || {
        ShimError::InvalidArgument(format!(
            "\"{}\" is not a composite key",
            composite_key.escape_debug()
        ))
    };
    let body = composite_key
        .strip_prefix(MIN_UNICODE_RUNE)
        .ok_or_else(not_composite)?;
    // Every part ends with a separator; what follows the last one is not a part.
    let mut parts: Vec<String> = body.split(MIN_UNICODE_RUNE).map(str::to_string).collect();
    parts.pop();
    if parts.is_empty() {
        return Err(not_composite());
    }
    let object_type = parts.remove(0);
    Ok((object_type, parts))
}

/// Go's `validateCompositeKeyAttribute`, with its error text.
fn validate_attribute(part: &str) -> Result<(), ShimError> {
    match part
        .char_indices()
        .find(|&(_, c)| c == MIN_UNICODE_RUNE || c == MAX_UNICODE_RUNE)
    {
        None => Ok(()),
        Some((index, c)) => Err(ShimError::InvalidArgument(format!(
            "input contains unicode U+{:04X} starting at position [{index}]. U+0000 and U+10FFFF \
             are not allowed in the input attribute of a composite key",
            c as u32
        ))),
    }
}

/// Go's `validateSimpleKeys`: a range query's bounds may not be composite keys.
pub(crate) fn validate_simple_keys(keys: &[&str]) -> Result<(), ShimError> {
    match keys.iter().find(|k| k.starts_with(MIN_UNICODE_RUNE)) {
        None => Ok(()),
        Some(key) => Err(ShimError::InvalidArgument(format!(
            "first character of the key [{}] contains a null character which is not allowed",
            key.escape_debug()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_go() {
        let key = create_composite_key("asset", &["alice", "42"]).unwrap();
        assert_eq!(key, "\0asset\0alice\u{0}42\0");
        assert_eq!(create_composite_key("asset", &[]).unwrap(), "\0asset\0");
        assert_eq!(create_composite_key("", &[""]).unwrap(), "\0\0\0");
    }

    #[test]
    fn splits_what_it_encodes() {
        for attributes in [&[][..], &["a"], &["alice", "", "ü€😀"]] {
            let key = create_composite_key("type", attributes).unwrap();
            let (object_type, parts) = split_composite_key(&key).unwrap();
            assert_eq!(object_type, "type");
            assert_eq!(parts, attributes);
        }
    }

    #[test]
    fn rejects_reserved_runes() {
        let err = create_composite_key("as\0set", &[])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("input contains unicode U+0000 starting at position [2]"),
            "{err}"
        );
        let err = create_composite_key("asset", &["ok", "x\u{10FFFF}"]).unwrap_err();
        assert!(err
            .to_string()
            .contains("U+10FFFF starting at position [1]"));
    }

    #[test]
    fn split_rejects_simple_keys() {
        for key in ["", "plain", "\0", "\0type-without-end"] {
            assert!(split_composite_key(key).is_err(), "{key:?}");
        }
        // Text after the last separator is ignored, as in Go.
        let (t, parts) = split_composite_key("\0t\0a\0tail").unwrap();
        assert_eq!((t.as_str(), parts), ("t", vec!["a".to_string()]));
    }

    #[test]
    fn simple_keys_may_not_start_with_null() {
        assert!(validate_simple_keys(&["a", "", "\u{1}", "a\0b"]).is_ok());
        let err = validate_simple_keys(&["a", "\0x"]).unwrap_err().to_string();
        assert!(err.contains("first character of the key [\\0x]"), "{err}");
    }
}
