//! The one source of randomness: ids, challenges, secrets. Secrets (keys,
//! nonces, one-time tokens) come straight from the operating system's CSPRNG
//! (`OsRng`); values that must be unpredictable and unique but guard nothing
//! for long (ids, challenges, user handles) come from `rand`'s `ThreadRng`, a
//! ChaCha CSPRNG seeded and periodically reseeded from the OS, which saves
//! the system call each value cost (~1.5 µs; a sign-in draws five).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::rngs::OsRng;
use rand::RngCore;

/// Secret bytes, from the operating system.
pub fn bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    OsRng.fill_bytes(&mut out);
    out
}

/// Unpredictable, unique bytes that need no OS call: ids, challenges.
pub fn unique_bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    rand::thread_rng().fill_bytes(&mut out);
    out
}

/// A 256-bit secret, base64url without padding (for invitation tokens and the like).
pub fn secret_token() -> String {
    URL_SAFE_NO_PAD.encode(bytes::<32>())
}

/// The random tail of a prefixed id: 128 bits, base32 lowercase (no padding).
pub fn id_tail() -> String {
    let mut out = String::with_capacity(26);
    push_base32(
        &mut out,
        &unique_bytes::<16>(),
        b"abcdefghijklmnopqrstuvwxyz234567",
    );
    out
}

/// The tail of a time-ordered id: the creation time (ms since the epoch, 50
/// bits) then 80 random bits, both in a base32 alphabet whose ASCII order is
/// its numeric order, so ids sort by creation time. Rows of the busiest
/// tables (ceremonies, sessions, audit events) are keyed by such ids: an
/// insert then lands on the right edge of the key index instead of a random
/// page, which is what the database writes back on every commit.
pub fn sortable_id_tail(millis: i64) -> String {
    const SORTED: &[u8; 32] = b"234567abcdefghijklmnopqrstuvwxyz";
    let mut out = String::with_capacity(26);
    let time = u64::try_from(millis).unwrap_or(0);
    for shift in (0..10).rev() {
        out.push(SORTED[((time >> (shift * 5)) & 31) as usize] as char);
    }
    push_base32(&mut out, &unique_bytes::<10>(), SORTED);
    out
}

fn push_base32(out: &mut String, raw: &[u8], alphabet: &[u8; 32]) {
    let mut acc: u32 = 0;
    let mut bits = 0;
    for &b in raw {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(alphabet[((acc >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(alphabet[((acc << (5 - bits)) & 31) as usize] as char);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sortable_tails_sort_by_time_and_differ_within_a_millisecond() {
        let early = sortable_id_tail(1_700_000_000_000);
        let late = sortable_id_tail(1_700_000_000_001);
        let much_later = sortable_id_tail(4_102_444_800_000);
        assert!(
            early < late && late < much_later,
            "{early} {late} {much_later}"
        );
        assert_eq!(early.len(), 26);
        assert_ne!(sortable_id_tail(5), sortable_id_tail(5));
        assert_eq!(id_tail().len(), 26);
    }
}
