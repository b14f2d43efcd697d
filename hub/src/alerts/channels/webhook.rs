//! Generic webhook: the notification as JSON, signed with HMAC-SHA256 when the channel
//! has a secret: `X-LunaSentri-Signature: sha256=<hex>` over the exact body bytes.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::check;
use crate::alerts::notification::Notification;

/// The signature header.
pub const SIGNATURE_HEADER: &str = "X-LunaSentri-Signature";

/// `sha256=<hex HMAC-SHA256 of body with secret>`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

pub async fn send(
    http: &reqwest::Client,
    url: &str,
    secret: Option<&str>,
    n: &Notification,
) -> Result<(), String> {
    let body = serde_json::to_vec(n).map_err(|e| e.to_string())?;
    let mut req = http
        .post(url)
        .header("Content-Type", "application/json")
        .header("X-LunaSentri-Reason", n.reason.as_str());
    if let Some(s) = secret {
        req = req.header(SIGNATURE_HEADER, signature(s, &body));
    }
    check(req.body(body).send().await).await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4231 test case 2.
    #[test]
    fn hmac_known_answer() {
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
