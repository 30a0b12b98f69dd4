//! What the session cookie holds (signed and encrypted by actix-session): the user id
//! and the session version it was issued under, when it started and was last used
//! (for the absolute and idle timeouts), a random session id renewed at sign-in, the
//! CSRF token, and at most one flash message.

use actix_session::Session;
use base64::Engine as _;
use chrono::Utc;
use serde::{Deserialize, Serialize};

use crate::domain::ids::UserId;

pub const IDLE_TIMEOUT_SECS: i64 = 30 * 60;
pub const ABSOLUTE_TIMEOUT_SECS: i64 = 12 * 60 * 60;
/// `seen` is rewritten at most this often, so the cookie is not re-sent on every request.
const SEEN_RESOLUTION_SECS: i64 = 60;

const USER_ID: &str = "uid";
const VERSION: &str = "ver";
const SESSION_ID: &str = "sid";
const CREATED: &str = "created";
const SEEN: &str = "seen";
const CSRF: &str = "csrf";
const FLASH: &str = "flash";
const PENDING: &str = "pending";
const ENROLMENT_SECRET: &str = "totp_enrol";

/// How long the second step of a sign-in waits for its code.
pub const SECOND_STEP_SECS: i64 = 5 * 60;

fn random_token() -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

/// The session's CSRF token, made on first use (an anonymous visitor gets one for the
/// sign-in form).
pub fn csrf_token(session: &Session) -> String {
    if let Ok(Some(token)) = session.get::<String>(CSRF) {
        return token;
    }
    let token = random_token();
    let _ = session.insert(CSRF, &token);
    token
}

pub fn expected_csrf_token(session: &Session) -> Option<String> {
    session.get::<String>(CSRF).ok().flatten()
}

/// Starts a signed-in session: everything from before (the anonymous session) is
/// dropped, and the session id and CSRF token are new.
pub fn sign_in(session: &Session, user: UserId, version: i32) {
    session.renew();
    session.clear();
    let now = Utc::now().timestamp();
    let _ = session.insert(USER_ID, user.0);
    let _ = session.insert(VERSION, version);
    let _ = session.insert(SESSION_ID, random_token());
    let _ = session.insert(CREATED, now);
    let _ = session.insert(SEEN, now);
    let _ = session.insert(CSRF, random_token());
}

/// A sign-in whose password was right, waiting for the second factor: the session is
/// renewed as at sign-in, but nobody is signed in until the code is.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingSignIn {
    pub user: UserId,
    pub version: i32,
    pub email: String,
    pub next: String,
    pub started: i64,
}

pub fn begin_second_step(session: &Session, user: UserId, version: i32, email: &str, next: &str) {
    session.renew();
    session.clear();
    let pending = PendingSignIn {
        user,
        version,
        email: email.to_owned(),
        next: next.to_owned(),
        started: Utc::now().timestamp(),
    };
    let _ = session.insert(PENDING, pending);
    let _ = session.insert(CSRF, random_token());
}

/// The sign-in waiting for its code, unless it has waited too long.
pub fn pending_sign_in(session: &Session) -> Option<PendingSignIn> {
    let pending = session.get::<PendingSignIn>(PENDING).ok().flatten()?;
    (Utc::now().timestamp() - pending.started <= SECOND_STEP_SECS).then_some(pending)
}

/// The secret being enrolled in this session (made on first use), so that the QR code
/// stays the same until the code from it is confirmed.
pub fn enrolment_secret(session: &Session, make: impl FnOnce() -> String) -> String {
    if let Ok(Some(secret)) = session.get::<String>(ENROLMENT_SECRET) {
        return secret;
    }
    let secret = make();
    let _ = session.insert(ENROLMENT_SECRET, &secret);
    secret
}

pub fn forget_enrolment_secret(session: &Session) {
    session.remove(ENROLMENT_SECRET);
}

/// Ends the session, keeping only a message for the sign-in page.
pub fn sign_out(session: &Session, flash: Option<Flash>) {
    session.renew();
    session.clear();
    if let Some(flash) = flash {
        push_flash(session, flash);
    }
}

pub enum SessionCheck {
    Anonymous,
    Expired,
    Active { user: UserId, version: i32 },
}

/// Reads the signed-in user, applying the idle and absolute timeouts. A request the
/// person did not make (`touch` false: the alert bell's polling) does not count as
/// activity, so an open tab cannot keep a session alive past its idle timeout.
pub fn check(session: &Session, touch: bool) -> SessionCheck {
    let Ok(Some(uid)) = session.get::<i64>(USER_ID) else { return SessionCheck::Anonymous };
    let version = session.get::<i32>(VERSION).ok().flatten().unwrap_or(-1);
    let created = session.get::<i64>(CREATED).ok().flatten().unwrap_or(0);
    let seen = session.get::<i64>(SEEN).ok().flatten().unwrap_or(0);
    let now = Utc::now().timestamp();
    if timed_out(created, seen, now) {
        return SessionCheck::Expired;
    }
    if touch && now - seen >= SEEN_RESOLUTION_SECS {
        let _ = session.insert(SEEN, now);
    }
    SessionCheck::Active { user: UserId(uid), version }
}

/// Idle for more than 30 minutes, or started more than 12 hours ago.
fn timed_out(created: i64, seen: i64, now: i64) -> bool {
    now - created > ABSOLUTE_TIMEOUT_SECS || now - seen > IDLE_TIMEOUT_SECS
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Flash {
    /// `success`, `info` or `error`: a CSS class.
    pub kind: String,
    pub message: String,
}

impl Flash {
    pub fn success(message: impl Into<String>) -> Self {
        Flash { kind: "success".into(), message: message.into() }
    }

    pub fn info(message: impl Into<String>) -> Self {
        Flash { kind: "info".into(), message: message.into() }
    }
}

pub fn push_flash(session: &Session, flash: Flash) {
    let _ = session.insert(FLASH, flash);
}

pub fn take_flash(session: &Session) -> Option<Flash> {
    let flash = session.get::<Flash>(FLASH).ok().flatten();
    if flash.is_some() {
        session.remove(FLASH);
    }
    flash
}

#[cfg(test)]
mod tests {
    use super::timed_out;

    #[test]
    fn idle_and_absolute_timeouts() {
        let start = 1_000_000;
        assert!(!timed_out(start, start, start + 29 * 60));
        assert!(timed_out(start, start, start + 31 * 60), "idle for 31 minutes");
        let active_all_day = start + 12 * 3600 + 60;
        assert!(timed_out(start, active_all_day - 10, active_all_day), "12 hours since sign-in, however active");
        assert!(!timed_out(start, start + 11 * 3600, start + 11 * 3600 + 60));
    }
}
