//! The one source of randomness: ids, challenges, secrets. Uses the operating
//! system's CSPRNG through `rand`'s `OsRng`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::rngs::OsRng;
use rand::RngCore;

pub fn bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    OsRng.fill_bytes(&mut out);
    out
}

/// A 256-bit secret, base64url without padding (for invitation tokens and the like).
pub fn secret_token() -> String {
    URL_SAFE_NO_PAD.encode(bytes::<32>())
}

/// The random tail of a prefixed id: 128 bits, base32 lowercase (no padding).
pub fn id_tail() -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let raw = bytes::<16>();
    let mut out = String::with_capacity(26);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for b in raw {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((acc >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((acc << (5 - bits)) & 31) as usize] as char);
    }
    out
}
