//! TOTP second factor (RFC 6238: HMAC-SHA-1, 6 digits, 30-second steps), the kind every
//! authenticator app reads from an `otpauth://` URI. No storage and no HTTP here.

use hmac::{Hmac, Mac};
use sha1::Sha1;
use subtle::ConstantTimeEq;

/// Seconds per step.
pub const STEP_S: u64 = 30;

/// A new 160-bit secret from the OS RNG (the size RFC 4226 recommends).
pub fn new_secret() -> Vec<u8> {
    rand::random::<[u8; 20]>().to_vec()
}

/// The secret as authenticator apps want it typed: base32 without padding.
pub fn encode_secret(secret: &[u8]) -> String {
    data_encoding::BASE32_NOPAD.encode(secret)
}

/// The 6-digit code of one time step.
pub fn code_at(secret: &[u8], step: u64) -> u32 {
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(secret) else {
        return 0;
    };
    mac.update(&step.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = (digest[19] & 0x0f) as usize;
    let bin = u32::from_be_bytes([
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]);
    bin % 1_000_000
}

/// Checks a code against the steps around `now` (one step of clock skew either way), accepting
/// only steps after `last_step` so that a code works once. Returns the matched step.
pub fn verify(secret: &[u8], code: &str, now: i64, last_step: u64) -> Option<u64> {
    let code = code.trim().replace(' ', "");
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let current = now.max(0) as u64 / STEP_S;
    let mut matched = None;
    // Every candidate is compared (constant time) so timing does not tell which step matched.
    for step in current.saturating_sub(1)..=current + 1 {
        let expected = format!("{:06}", code_at(secret, step));
        if bool::from(expected.as_bytes().ct_eq(code.as_bytes()))
            && step > last_step
            && matched.is_none()
        {
            matched = Some(step);
        }
    }
    matched
}

fn percent_encode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The `otpauth://totp/…` URI to show as a QR code or link.
pub fn otpauth_uri(issuer: &str, account: &str, secret: &[u8]) -> String {
    let issuer = issuer.replace(':', " ");
    format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits=6&period={STEP_S}",
        percent_encode(&issuer),
        percent_encode(account),
        encode_secret(secret),
        percent_encode(&issuer)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6238_test_vectors() {
        // RFC 6238 appendix B (SHA-1 seed), last six digits.
        let seed = b"12345678901234567890";
        for (t, code) in [
            (59u64, 287_082),
            (1_111_111_109, 81_804),
            (1_234_567_890, 5_924),
            (2_000_000_000, 279_037),
        ] {
            assert_eq!(code_at(seed, t / STEP_S), code, "t={t}");
        }
    }

    #[test]
    fn codes_work_once_and_within_one_step() {
        let s = new_secret();
        let now = 1_800_000_000i64;
        let code = format!("{:06}", code_at(&s, now as u64 / STEP_S));
        let step = verify(&s, &code, now, 0).unwrap();
        assert_eq!(verify(&s, &code, now, step), None, "replay");
        assert!(verify(&s, &code, now + 30, 0).is_some(), "one step of skew");
        assert!(verify(&s, &code, now + 90, 0).is_none());
        assert!(verify(&s, "12345", now, 0).is_none());
        assert!(
            otpauth_uri("My Panel", "a@b.c", &s)
                .starts_with("otpauth://totp/My%20Panel:a@b.c?secret=")
        );
    }
}
