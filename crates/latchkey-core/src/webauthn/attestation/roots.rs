//! The well-known vendor roots, compiled in from `data/roots/` so a default
//! deployment can anchor Apple, Android and Windows Hello attestations without
//! configuration. Packed and fido-u2f have no single vendor root: those need
//! roots chosen by the operator (or metadata), so none are shipped for them.

use std::collections::HashMap;

use crate::webauthn::registration::AttestationPolicy;

/// (attestation format, PEM) pairs.
const VENDOR_ROOTS: [(&str, &str); 9] = [
    (
        "apple",
        include_str!("../../../data/roots/apple_webauthn_root_ca.pem"),
    ),
    (
        "android-key",
        include_str!("../../../data/roots/google_hardware_attestation_root_1.pem"),
    ),
    (
        "android-key",
        include_str!("../../../data/roots/google_hardware_attestation_root_2.pem"),
    ),
    (
        "android-key",
        include_str!("../../../data/roots/google_hardware_attestation_root_3.pem"),
    ),
    (
        "android-key",
        include_str!("../../../data/roots/google_hardware_attestation_root_4.pem"),
    ),
    (
        "android-safetynet",
        include_str!("../../../data/roots/globalsign_root_ca.pem"),
    ),
    (
        "android-safetynet",
        include_str!("../../../data/roots/globalsign_r2.pem"),
    ),
    (
        "android-safetynet",
        include_str!("../../../data/roots/globalsign_root_ca_r3.pem"),
    ),
    (
        "tpm",
        include_str!("../../../data/roots/microsoft_tpm_root_certificate_authority_2014.pem"),
    ),
];

/// The shipped roots as DER, keyed by attestation format.
pub fn vendor_roots() -> HashMap<String, Vec<Vec<u8>>> {
    let mut roots: HashMap<String, Vec<Vec<u8>>> = HashMap::new();
    for (fmt, pem) in VENDOR_ROOTS {
        if let Some(der) = pem_to_der(pem) {
            roots.entry(fmt.to_owned()).or_default().push(der);
        }
    }
    roots
}

/// Decodes one PEM certificate to DER.
pub fn pem_to_der(pem: &str) -> Option<Vec<u8>> {
    match x509_parser::pem::parse_x509_pem(pem.as_bytes()) {
        Ok((_, parsed)) if parsed.label == "CERTIFICATE" => Some(parsed.contents),
        _ => None,
    }
}

impl AttestationPolicy {
    /// Requires a trusted path and anchors it at the shipped vendor roots.
    pub fn with_vendor_roots() -> Self {
        AttestationPolicy {
            require_trusted: true,
            trust_anchors: std::sync::Arc::new(vendor_roots()),
            allowed_aaguids: None,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_root_parses() {
        let roots = vendor_roots();
        let total: usize = roots.values().map(Vec::len).sum();
        assert_eq!(total, VENDOR_ROOTS.len());
        for der in roots.values().flatten() {
            crate::webauthn::attestation::certs::parse(der).unwrap();
        }
    }
}
