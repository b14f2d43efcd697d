//! Email over SMTP with lettre: implicit TLS, STARTTLS (default) or, for a relay on
//! loopback only, plain SMTP.

use std::time::Duration;

use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use lunasentri_schema::alert::ChannelConfig;

use crate::alerts::notification::Notification;

pub async fn send(
    config: &ChannelConfig,
    n: &Notification,
    timeout: Duration,
) -> Result<(), String> {
    let ChannelConfig::Email {
        host,
        port,
        tls,
        username,
        password,
        from,
        to,
    } = config
    else {
        return Err("not an email channel".into());
    };
    let from: Mailbox = from.parse().map_err(|e| format!("from: {e}"))?;
    let mut msg = Message::builder()
        .from(from)
        .subject(&n.title)
        .header(ContentType::TEXT_PLAIN);
    for addr in to {
        msg = msg.to(addr.parse().map_err(|e| format!("to {addr}: {e}"))?);
    }
    let msg = msg
        .body(format!("{}\n\n{}\n", n.text, n.title))
        .map_err(|e| e.to_string())?;
    let mut builder = match tls.as_deref().unwrap_or("starttls") {
        "tls" => AsyncSmtpTransport::<Tokio1Executor>::relay(host),
        "starttls" => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host),
        _ => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(
            host,
        )),
    }
    .map_err(|e| format!("smtp: {e}"))?
    .timeout(Some(timeout));
    if let Some(p) = port {
        builder = builder.port(*p);
    }
    if let Some(user) = username {
        builder = builder.credentials(Credentials::new(
            user.clone(),
            password.clone().unwrap_or_default(),
        ));
    }
    builder
        .build()
        .send(msg)
        .await
        .map(|_| ())
        .map_err(|e| format!("smtp: {e}"))
}
