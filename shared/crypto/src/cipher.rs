//! The authenticated cipher: XChaCha20-Poly1305 with a random 192-bit nonce per message (random
//! nonces are safe at this size, so no counter has to survive restarts or replicas).

use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use zeroize::Zeroizing;

/// Bytes in a key.
pub const KEY_LEN: usize = 32;
/// Bytes in a nonce, which leads every sealed message.
pub const NONCE_LEN: usize = 24;
/// Bytes the cipher adds to a message: the nonce and the 16-byte tag.
pub const OVERHEAD: usize = NONCE_LEN + 16;

/// A 256-bit secret key, wiped from memory when dropped. `Debug` never prints it.
#[derive(Clone)]
pub struct SecretKey(Zeroizing<[u8; KEY_LEN]>);

impl SecretKey {
    /// A fresh random key from the operating system.
    pub fn generate() -> Self {
        let key = XChaCha20Poly1305::generate_key(&mut OsRng);
        Self(Zeroizing::new(key.into()))
    }

    /// A key from its bytes.
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    pub(crate) fn bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(***)")
    }
}

/// The message was altered, or sealed under another key or context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tampered;

/// Encrypts and authenticates `plaintext`, binding `aad` (who and what it is about): nonce ‖
/// ciphertext ‖ tag.
pub fn seal(key: &SecretKey, aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let cipher = XChaCha20Poly1305::new(&Key::from(*key.bytes()));
    let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
    let sealed = cipher
        .encrypt(
            &nonce,
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .expect("XChaCha20-Poly1305 encrypts any message that fits in memory");
    let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    out
}

/// Checks and decrypts what [`seal`] produced under the same key and `aad`.
pub fn open(key: &SecretKey, aad: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, Tampered> {
    if sealed.len() < OVERHEAD {
        return Err(Tampered);
    }
    let (nonce, body) = sealed.split_at(NONCE_LEN);
    let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| Tampered)?;
    XChaCha20Poly1305::new(&Key::from(*key.bytes()))
        .decrypt(&XNonce::from(nonce), Payload { msg: body, aad })
        .map(Zeroizing::new)
        .map_err(|_| Tampered)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_every_alteration_is_rejected() {
        let key = SecretKey::generate();
        let sealed = seal(&key, b"tenant-a/person-1/name", b"Ada Lovelace");
        assert_eq!(
            open(&key, b"tenant-a/person-1/name", &sealed)
                .expect("opens")
                .as_slice(),
            b"Ada Lovelace"
        );
        // Same plaintext, fresh nonce: ciphertexts never repeat.
        assert_ne!(
            sealed,
            seal(&key, b"tenant-a/person-1/name", b"Ada Lovelace")
        );
        for i in 0..sealed.len() {
            let mut flipped = sealed.clone();
            flipped[i] ^= 0x01;
            assert_eq!(
                open(&key, b"tenant-a/person-1/name", &flipped),
                Err(Tampered),
                "byte {i}"
            );
        }
        assert_eq!(
            open(&key, b"tenant-b/person-1/name", &sealed),
            Err(Tampered)
        );
        assert_eq!(
            open(&SecretKey::generate(), b"tenant-a/person-1/name", &sealed),
            Err(Tampered)
        );
        assert_eq!(open(&key, b"", &sealed[..10]), Err(Tampered));
        assert_eq!(format!("{key:?}"), "SecretKey(***)");
    }
}
