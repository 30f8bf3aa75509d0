//! Identifiers the supervisor generates: UUID v4 for prompts, `req_<n>_<8 hex>` for its own
//! control requests (the Python SDK's convention).
//!
//! Randomness comes from `/dev/urandom`; no crate needed for 16 bytes.

use std::io::Read;

/// Fills `buf` with random bytes. Falls back to a time/pid-seeded mix if `/dev/urandom` is not
/// readable (ids must be unique within a run, not secret).
fn random_bytes(buf: &mut [u8]) {
    let from_urandom = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(buf));
    if from_urandom.is_ok() {
        return;
    }
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let mut state =
        nanos ^ (u64::from(std::process::id()) << 32) ^ COUNTER.fetch_add(1, Ordering::Relaxed);
    for chunk in buf.chunks_mut(8) {
        // splitmix64
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        chunk.copy_from_slice(&z.to_le_bytes()[..chunk.len()]);
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A fresh random UUID v4, lower-case, hyphenated.
pub fn uuid_v4() -> String {
    let mut b = [0u8; 16];
    random_bytes(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40; // version 4
    b[8] = (b[8] & 0x3f) | 0x80; // variant 10xx
    format!(
        "{}-{}-{}-{}-{}",
        hex(&b[0..4]),
        hex(&b[4..6]),
        hex(&b[6..8]),
        hex(&b[8..10]),
        hex(&b[10..16])
    )
}

/// Request ids for the supervisor's own control requests: `req_1_3f9a2c1b`, `req_2_…`.
#[derive(Debug, Default)]
pub struct RequestIds {
    issued: u64,
}

impl RequestIds {
    pub fn next(&mut self) -> String {
        self.issued += 1;
        let mut b = [0u8; 4];
        random_bytes(&mut b);
        format!("req_{}_{}", self.issued, hex(&b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_v4_shape() {
        let id = uuid_v4();
        let parts: Vec<&str> = id.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('4'));
        assert!(matches!(&parts[3][..1], "8" | "9" | "a" | "b"));
        assert!(
            id.chars()
                .all(|c| c == '-' || c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert_ne!(uuid_v4(), uuid_v4());
    }

    #[test]
    fn request_ids_count_from_one() {
        let mut ids = RequestIds::default();
        let first = ids.next();
        assert!(
            first.starts_with("req_1_") && first.len() == "req_1_".len() + 8,
            "{first}"
        );
        assert!(ids.next().starts_with("req_2_"));
    }
}
