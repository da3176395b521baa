//! API token secrets: generation and hashing. Only the SHA-256 is ever stored.

use sha2::{Digest, Sha256};

/// Prefix of every Baton token, so leaked tokens are easy to find in logs and scans.
pub const TOKEN_PREFIX: &str = "baton_";

/// A new random secret (`baton_` + 64 hex digits, 244 random bits from two
/// UUIDv4s) and its hex SHA-256.
pub fn generate() -> (String, String) {
    let secret = format!(
        "{TOKEN_PREFIX}{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let hash = hash(&secret);
    (secret, hash)
}

/// Lowercase hex SHA-256 of a secret.
pub fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_unique_and_hash_to_what_is_returned() {
        let (a, ha) = generate();
        let (b, _) = generate();
        assert_ne!(a, b);
        assert!(a.starts_with(TOKEN_PREFIX) && a.len() == TOKEN_PREFIX.len() + 64);
        assert_eq!(hash(&a), ha);
        assert_eq!(ha.len(), 64);
    }
}
