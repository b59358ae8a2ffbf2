//! Content digests (`sha256:<64 hex>`): compute, verify, recognise and shorten them.
//!
//! One place for what the registry client, the manifest cache, the graph and the renderers all
//! need, so that "what is a digest" has one answer. Only sha256 is supported: all ghcr.io uses.

use sha2::{Digest, Sha256};

/// `sha256:<hex>` of `bytes`.
pub fn of(bytes: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(bytes))
}

/// A digest that does not check out.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    /// Not `sha256:`: nothing else is supported.
    #[error("cannot verify digest {digest}: only sha256 is supported")]
    Unsupported { digest: String },
    /// The bytes hash to another digest.
    #[error("manifest of {digest} does not match its digest (its bytes hash to sha256:{actual})")]
    Mismatch { digest: String, actual: String },
}

/// Check that `bytes` hash to `digest`.
pub fn verify(digest: &str, bytes: &[u8]) -> Result<(), DigestError> {
    let Some(expected) = digest.strip_prefix("sha256:") else {
        return Err(DigestError::Unsupported {
            digest: digest.to_string(),
        });
    };
    let actual = format!("{:x}", Sha256::digest(bytes));
    if actual == expected {
        Ok(())
    } else {
        Err(DigestError::Mismatch {
            digest: digest.to_string(),
            actual,
        })
    }
}

/// Whether `hex` is 64 lower-case hex digits (a sha256 digest without its `sha256:`).
pub fn is_sha256_hex(hex: &str) -> bool {
    hex.len() == 64
        && hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Whether `digest` is `sha256:` and 64 lower-case hex digits (all this tool reads or caches).
pub fn is_sha256(digest: &str) -> bool {
    digest.strip_prefix("sha256:").is_some_and(is_sha256_hex)
}

/// `sha256:0123456789ab` from a full digest; other names as they are.
pub fn short(name: &str) -> String {
    match name.split_once(':') {
        Some((algo, hex)) if hex.len() > 12 => format!("{algo}:{}", &hex[..12]),
        _ => name.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verify_digest() {
        let body = b"{}";
        let good = format!("sha256:{}", hex::encode(Sha256::digest(body)));
        assert!(verify(&good, body).is_ok());
        let x = "sha256:2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881";
        assert!(verify(x, b"x").is_ok());
        let e = verify(&good, b"{ }").unwrap_err();
        assert!(matches!(e, DigestError::Mismatch { .. }), "{e:?}");
        assert_eq!(
            e.to_string(),
            format!(
                "manifest of {good} does not match its digest (its bytes hash to sha256:{})",
                hex::encode(Sha256::digest(b"{ }"))
            )
        );
        assert_eq!(
            verify("sha512:abc", body).unwrap_err().to_string(),
            "cannot verify digest sha512:abc: only sha256 is supported"
        );
    }

    #[test]
    fn of_matches_an_independent_hash() {
        assert_eq!(
            of(b"x"),
            "sha256:2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"
        );
    }

    #[test]
    fn sha256_digests_only() {
        assert!(is_sha256(&format!("sha256:{}", "0".repeat(64))));
        assert!(!is_sha256(&format!("sha256:{}", "A".repeat(64))));
        assert!(!is_sha256("sha256:../../etc/passwd"));
        assert!(!is_sha256("1.0.0"));
    }

    #[test]
    fn short_keeps_twelve_digits() {
        let d = format!("sha256:{}", "0123456789abcdef".repeat(4));
        assert_eq!(short(&d), "sha256:0123456789ab");
        assert_eq!(short("1.0.0"), "1.0.0");
        assert_eq!(short("sha256:abc"), "sha256:abc");
    }
}
