//! Field checks shared by the REST handlers; each error names its field.

use crate::error::ApiError;

/// Longest machine, user or token name.
pub const MAX_NAME: usize = 100;
const MIN_PASSWORD: usize = 8;
const MAX_PASSWORD: usize = 1024;
const MAX_EMAIL: usize = 254;

/// A trimmed, non-empty display name without control characters.
pub fn name(field: &str, raw: &str) -> Result<String, ApiError> {
    let n = raw.trim();
    if n.is_empty() {
        return Err(ApiError::field(field, "must not be empty"));
    }
    if n.chars().count() > MAX_NAME {
        return Err(ApiError::field(
            field,
            format!("must be at most {MAX_NAME} characters"),
        ));
    }
    if n.chars().any(char::is_control) {
        return Err(ApiError::field(
            field,
            "must not contain control characters",
        ));
    }
    Ok(n.to_owned())
}

/// A lower-cased e-mail address of plausible shape.
pub fn email(raw: &str) -> Result<String, ApiError> {
    let e = raw.trim().to_lowercase();
    let ok = e.len() <= MAX_EMAIL
        && !e.chars().any(|c| c.is_whitespace() || c.is_control())
        && e.split_once('@')
            .is_some_and(|(a, b)| !a.is_empty() && b.contains('.') && !b.contains('@'));
    if ok {
        Ok(e)
    } else {
        Err(ApiError::field("email", "is not a valid e-mail address"))
    }
}

/// A password of acceptable length.
pub fn password(field: &str, p: &str) -> Result<(), ApiError> {
    let n = p.chars().count();
    if n < MIN_PASSWORD {
        return Err(ApiError::field(
            field,
            format!("must be at least {MIN_PASSWORD} characters"),
        ));
    }
    if n > MAX_PASSWORD {
        return Err(ApiError::field(
            field,
            format!("must be at most {MAX_PASSWORD} characters"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Names are trimmed and bounded; e-mails normalised; passwords bounded.
    #[test]
    fn checks() {
        assert_eq!(name("name", "  web-1 ").unwrap(), "web-1");
        assert!(name("name", "   ").is_err());
        assert!(
            name("name", &"x".repeat(101))
                .unwrap_err()
                .to_string()
                .contains("name")
        );
        assert!(name("name", "a\u{7}b").is_err());
        assert_eq!(email(" Ann@Example.COM ").unwrap(), "ann@example.com");
        assert!(email("nope").is_err());
        assert!(email("a@b").is_err());
        assert!(password("password", "short").is_err());
        assert!(password("password", "long enough").is_ok());
    }
}
