//! Anti-forgery tokens. Signed-in forms carry the session's token; the sign-in form, which has
//! no session yet, carries a token that must equal a cookie set with it (double submit).
//! Refusals are logged in the tenant's logbook (the platform's for operators and strangers).

use archipel_archive::journal::PLATFORM;

use crate::error::{UiError, UiResult};
use crate::extract::Viewer;
use crate::UiState;

/// The pre-session cookie of the sign-in form.
pub const SIGNIN_COOKIE: &str = "archipel_csrf";
/// The form field every form carries.
pub const FIELD: &str = "_csrf";

/// Equal, in time that does not depend on where they differ.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && !a.is_empty() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Checks a signed-in form's token; logs and refuses a wrong one.
pub async fn check(ui: &UiState, v: &Viewer, submitted: &str, action: &str) -> UiResult<()> {
    if same(&v.csrf, submitted) {
        return Ok(());
    }
    refuse(ui, v.who.tenant.as_deref(), &v.who.id, action).await;
    Err(UiError::Csrf)
}

/// Logs a refused form (best effort: the refusal stands even if the log cannot be written).
pub async fn refuse(ui: &UiState, tenant: Option<&str>, actor: &str, action: &str) {
    tracing::warn!("web interface: form `{action}` refused for {actor}: missing or wrong CSRF token");
    let book = tenant.unwrap_or(PLATFORM);
    let detail = serde_json::json!({"form": action, "reason": "missing or wrong anti-forgery (CSRF) token"});
    if let Err(e) = ui
        .archive
        .journal
        .record(book, "ui.csrf_refused", "KO", actor, None, detail)
        .await
    {
        tracing::error!("a refused form could not be logged: {e}");
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn comparison() {
        assert!(super::same("abc", "abc"));
        assert!(!super::same("abc", "abd"));
        assert!(!super::same("abc", "ab"));
        assert!(!super::same("", ""), "an empty token never matches");
    }
}
