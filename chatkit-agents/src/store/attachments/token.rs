//! Signed capability tokens for the upload and preview routes: what the token allows
//! (which attachment, upload or preview, the type and size limit, until when) in
//! base64url JSON, then an HMAC-SHA256 of it. The routes receive no user context (a
//! browser loads a preview without the endpoint's credentials; a two-phase upload
//! sends only the descriptor's headers), so the token is the authorization: it is
//! bound to one attachment and, for uploads, to a deadline.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::AttachmentError;

/// What a token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Purpose {
    #[serde(rename = "u")]
    Upload,
    #[serde(rename = "v")]
    Preview,
}

/// The signed content of a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Claims {
    /// The attachment id.
    #[serde(rename = "a")]
    pub(crate) id: String,
    #[serde(rename = "p")]
    pub(crate) purpose: Purpose,
    /// The declared MIME type.
    #[serde(rename = "m")]
    pub(crate) mime_type: String,
    /// The size limit of an upload.
    #[serde(rename = "n", default, skip_serializing_if = "Option::is_none")]
    pub(crate) max_bytes: Option<u64>,
    /// Expiry, in Unix seconds (uploads).
    #[serde(rename = "e", default, skip_serializing_if = "Option::is_none")]
    pub(crate) expires: Option<u64>,
}

/// Signs and checks tokens with one key (give every replica the same key).
#[derive(Clone)]
pub(crate) struct TokenKey(Vec<u8>);

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey(..)")
    }
}

impl TokenKey {
    pub(crate) fn new(key: Vec<u8>) -> Self {
        TokenKey(key)
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC takes keys of any length.
        <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"))
    }

    pub(crate) fn sign(&self, claims: &Claims) -> String {
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap_or_default());
        let mut mac = self.mac();
        mac.update(payload.as_bytes());
        let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{payload}.{signature}")
    }

    /// The claims of `token` if it is signed by this key, names `id`, serves `purpose`
    /// and has not expired at `now` (Unix seconds).
    pub(crate) fn verify(
        &self,
        token: &str,
        id: &str,
        purpose: Purpose,
        now: u64,
    ) -> Result<Claims, AttachmentError> {
        let forbidden =
            |why: &str| AttachmentError::Forbidden(format!("{why} for attachment {id}"));
        let (payload, signature) = token
            .split_once('.')
            .ok_or_else(|| forbidden("malformed token"))?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| forbidden("malformed token"))?;
        let mut mac = self.mac();
        mac.update(payload.as_bytes());
        mac.verify_slice(&signature)
            .map_err(|_| forbidden("invalid signature"))?;
        let claims: Claims = URL_SAFE_NO_PAD
            .decode(payload)
            .ok()
            .and_then(|json| serde_json::from_slice(&json).ok())
            .ok_or_else(|| forbidden("malformed token"))?;
        if claims.id != id || claims.purpose != purpose {
            return Err(forbidden("token not issued"));
        }
        if claims.expires.is_some_and(|expires| now >= expires) {
            return Err(forbidden("expired upload URL"));
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> Claims {
        Claims {
            id: "atc_1".into(),
            purpose: Purpose::Upload,
            mime_type: "image/png".into(),
            max_bytes: Some(10),
            expires: Some(100),
        }
    }

    #[test]
    fn a_token_verifies_only_for_its_attachment_purpose_and_time() {
        let key = TokenKey::new(b"secret".to_vec());
        let token = key.sign(&claims());
        assert_eq!(
            key.verify(&token, "atc_1", Purpose::Upload, 99).unwrap(),
            claims()
        );
        let denied = |token: &str, id, purpose, now| {
            matches!(
                key.verify(token, id, purpose, now),
                Err(AttachmentError::Forbidden(_))
            )
        };
        assert!(denied(&token, "atc_1", Purpose::Upload, 100), "expired");
        assert!(
            denied(&token, "atc_2", Purpose::Upload, 0),
            "other attachment"
        );
        assert!(
            denied(&token, "atc_1", Purpose::Preview, 0),
            "other purpose"
        );
        // Tampered payload (a bigger size limit) or signature, another key, garbage.
        let (payload, signature) = token.split_once('.').unwrap();
        let mut bigger = claims();
        bigger.max_bytes = Some(1 << 40);
        let forged = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&bigger).unwrap());
        assert!(denied(
            &format!("{forged}.{signature}"),
            "atc_1",
            Purpose::Upload,
            0
        ));
        assert!(denied(
            &format!("{payload}.AAAA"),
            "atc_1",
            Purpose::Upload,
            0
        ));
        let other = TokenKey::new(b"other".to_vec()).sign(&claims());
        assert!(denied(&other, "atc_1", Purpose::Upload, 0));
        for garbage in ["", ".", "a.b", "%%%.%%%", "no-dot"] {
            assert!(denied(garbage, "atc_1", Purpose::Upload, 0), "{garbage:?}");
        }
    }
}
