//! X.509 handling for attestation: parsing x5c entries, walking a path from
//! the leaf to one of the policy's roots (signatures via `x509-parser`'s
//! `ring` backend, validity at the ceremony's `now`), and the extension checks
//! several formats share (id-fido-gen-ce-aaguid, basicConstraints).

use x509_parser::asn1_rs::{Any, Class, FromBer, Tag};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::X509Extension;
use x509_parser::prelude::{ASN1Time, FromDer};

use crate::clock::Timestamp;
use crate::error::{fail, ErrorCode, Result};

/// id-fido-gen-ce-aaguid (§8.2.1): the AAGUID an attestation certificate vouches for.
const OID_FIDO_GEN_CE_AAGUID: &str = "1.3.6.1.4.1.45724.1.1.4";

/// Parses one DER certificate; trailing bytes are refused.
pub(crate) fn parse(der: &[u8]) -> Result<X509Certificate<'_>> {
    match X509Certificate::from_der(der) {
        Ok((&[], cert)) => Ok(cert),
        _ => fail(
            ErrorCode::InvalidAttestationStatement,
            "attestation certificate is not valid DER",
        ),
    }
}

/// Walks `x5c` (leaf first) until a certificate is, or is issued by, one of
/// `roots`; every certificate on the way must be valid at `now` and signed by
/// the next. Chains that carry their own root end on the equality check.
pub(crate) fn verify_path(x5c: &[Vec<u8>], roots: &[Vec<u8>], now: Timestamp) -> Result<()> {
    let time = ASN1Time::from_timestamp(now.secs()).or_else(|_| untrusted("time out of range"))?;
    let roots: Vec<X509Certificate<'_>> = roots.iter().filter_map(|der| parse(der).ok()).collect();
    if roots.is_empty() {
        return untrusted("no trust anchors are configured for this format");
    }
    let chain = x5c
        .iter()
        .map(|der| parse(der))
        .collect::<Result<Vec<_>>>()
        .or_else(|_| untrusted("unparsable certificate"))?;
    for (i, cert) in chain.iter().enumerate() {
        if !cert.validity().is_valid_at(time) {
            return untrusted("a certificate in the attestation path is not valid now");
        }
        if roots.iter().any(|root| anchored_by(cert, root, time)) {
            return Ok(());
        }
        let Some(issuer) = chain.get(i + 1) else {
            return untrusted("the attestation path does not reach a trust anchor");
        };
        if !is_ca(issuer) || cert.verify_signature(Some(issuer.public_key())).is_err() {
            return untrusted("a certificate in the attestation path has a bad signature");
        }
    }
    untrusted("the attestation path does not reach a trust anchor")
}

fn anchored_by(cert: &X509Certificate<'_>, root: &X509Certificate<'_>, time: ASN1Time) -> bool {
    if !root.validity().is_valid_at(time) {
        return false;
    }
    if cert.as_raw() == root.as_raw() {
        return true;
    }
    cert.issuer() == root.subject() && cert.verify_signature(Some(root.public_key())).is_ok()
}

/// An issuer must not say it is a leaf; old roots without the extension pass.
fn is_ca(cert: &X509Certificate<'_>) -> bool {
    match cert.basic_constraints() {
        Ok(Some(bc)) => bc.value.ca,
        Ok(None) => true,
        Err(_) => false,
    }
}

/// A leaf attestation certificate must not be a CA (§8.2.1, §8.3.1).
pub(crate) fn require_not_ca(cert: &X509Certificate<'_>) -> Result<()> {
    match cert.basic_constraints() {
        Ok(Some(bc)) if bc.value.ca => fail(
            ErrorCode::InvalidAttestationStatement,
            "attestation certificate is a CA",
        ),
        _ => Ok(()),
    }
}

/// The extension with this dotted OID, if the certificate has one.
pub(crate) fn extension<'c>(
    cert: &'c X509Certificate<'_>,
    oid: &str,
) -> Option<&'c X509Extension<'c>> {
    cert.extensions()
        .iter()
        .find(|ext| ext.oid.to_id_string() == oid)
}

/// If the certificate names an AAGUID, it must be the authenticator's and the
/// extension must not be critical (§8.2.1).
pub(crate) fn check_aaguid_extension(cert: &X509Certificate<'_>, aaguid: &[u8; 16]) -> Result<()> {
    let Some(ext) = extension(cert, OID_FIDO_GEN_CE_AAGUID) else {
        return Ok(());
    };
    // The extension value is a DER OCTET STRING wrapping the 16 bytes.
    let matches =
        ext.value.len() == 18 && ext.value[..2] == [0x04, 0x10] && ext.value[2..] == aaguid[..];
    if ext.critical || !matches {
        return fail(
            ErrorCode::AaguidMismatch,
            "certificate AAGUID does not match the authenticator's",
        );
    }
    Ok(())
}

fn untrusted<T>(message: &str) -> Result<T> {
    fail(ErrorCode::UntrustedCertificateChain, message)
}

/// The top-level TLVs of `bytes`, for walking vendor extensions whose
/// structures `x509-parser` doesn't model. `None` if any TLV is malformed.
pub(crate) fn der_items(mut bytes: &[u8]) -> Option<Vec<Any<'_>>> {
    let mut items = Vec::new();
    while !bytes.is_empty() {
        let (rest, item) = Any::from_ber(bytes).ok()?;
        items.push(item);
        bytes = rest;
    }
    Some(items)
}

/// The children of a single constructed TLV (e.g. an extension's SEQUENCE).
pub(crate) fn der_children(bytes: &[u8]) -> Option<Vec<Any<'_>>> {
    match der_items(bytes)?.as_slice() {
        [only] if only.header.is_constructed() => der_items(only.data),
        _ => None,
    }
}

/// Whether `item` is context-specific `[tag]`.
pub(crate) fn is_context(item: &Any<'_>, tag: u32) -> bool {
    item.header.class() == Class::ContextSpecific && item.header.tag() == Tag(tag)
}
