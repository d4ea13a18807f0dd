//! Sessions: an unguessable cookie names a record on this front holding the credential it was
//! opened with, its CSRF token and its times. Records live in memory: a restarted front signs
//! everyone out, and several fronts behind one address need sticky sessions (docs/ui.md).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use rand::RngCore;

use crate::UiConfig;

pub const COOKIE: &str = "archipel_session";

/// The time sessions are aged by; tests inject their own.
pub trait Clock: Send + Sync {
    fn now(&self) -> Instant;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// What a session remembers.
#[derive(Clone)]
pub struct Session {
    /// The bearer token it was opened with; re-checked on each request.
    pub token: String,
    pub csrf: String,
    opened: Instant,
    last_seen: Instant,
}

/// Why a cookie opens no session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closed {
    /// No cookie, or one this front never issued (or already forgot).
    Unknown,
    /// Idle too long, or too old.
    Expired,
}

pub struct Sessions {
    clock: Arc<dyn Clock>,
    config: UiConfig,
    // Keyed by the hash of the cookie value: a memory dump does not hand out live cookies.
    open: Mutex<HashMap<[u8; 32], Session>>,
}

pub fn random_hex() -> String {
    let mut raw = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut raw);
    hex::encode(raw)
}

fn key(cookie: &str) -> [u8; 32] {
    *blake3::hash(cookie.as_bytes()).as_bytes()
}

impl Sessions {
    pub fn new(clock: Arc<dyn Clock>, config: UiConfig) -> Self {
        Self {
            clock,
            config,
            open: Mutex::new(HashMap::new()),
        }
    }

    /// Opens a session for `token`; returns the cookie value.
    pub fn open(&self, token: String) -> String {
        let cookie = random_hex();
        let now = self.clock.now();
        let session = Session {
            token,
            csrf: random_hex(),
            opened: now,
            last_seen: now,
        };
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        open.retain(|_, s| self.alive(s, now));
        if open.len() >= self.config.max_sessions.max(1) {
            if let Some(oldest) = open.iter().min_by_key(|(_, s)| s.last_seen).map(|(k, _)| *k) {
                open.remove(&oldest);
            }
        }
        open.insert(key(&cookie), session);
        cookie
    }

    fn alive(&self, s: &Session, now: Instant) -> bool {
        now.saturating_duration_since(s.last_seen) < self.config.idle_timeout
            && now.saturating_duration_since(s.opened) < self.config.max_session_age
    }

    /// The session `cookie` names, marked as used now.
    pub fn touch(&self, cookie: &str) -> Result<Session, Closed> {
        let now = self.clock.now();
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let k = key(cookie);
        let Some(s) = open.get_mut(&k) else {
            return Err(Closed::Unknown);
        };
        if !self.alive(s, now) {
            open.remove(&k);
            return Err(Closed::Expired);
        }
        s.last_seen = now;
        Ok(s.clone())
    }

    pub fn close(&self, cookie: &str) {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        open.remove(&key(cookie));
    }

    /// The `Set-Cookie` value opening (or, with an empty value, ending) a session.
    pub fn set_cookie(&self, name: &str, value: &str) -> String {
        let secure = if self.config.secure_cookies { "; Secure" } else { "" };
        let age = if value.is_empty() {
            "; Max-Age=0".to_owned()
        } else {
            String::new()
        };
        format!("{name}={value}; Path=/ui; HttpOnly; SameSite=Strict{secure}{age}")
    }
}

/// The value of cookie `name` in a `Cookie` header.
pub fn cookie<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    struct Fake(Mutex<Instant>);
    impl Clock for Fake {
        fn now(&self) -> Instant {
            *self.0.lock().unwrap()
        }
    }

    fn sessions(clock: Arc<Fake>) -> Sessions {
        let config = UiConfig {
            idle_timeout: Duration::from_secs(60),
            max_session_age: Duration::from_secs(600),
            secure_cookies: true,
            max_sessions: 2,
        };
        Sessions::new(clock, config)
    }

    #[test]
    fn idle_and_old_sessions_end() {
        let clock = Arc::new(Fake(Mutex::new(Instant::now())));
        let s = sessions(clock.clone());
        let c = s.open("tok".into());
        let advance = |secs| *clock.0.lock().unwrap() += Duration::from_secs(secs);
        advance(59);
        assert!(s.touch(&c).is_ok(), "used within the idle time");
        advance(59);
        assert!(s.touch(&c).is_ok(), "each use restarts the idle time");
        advance(60);
        assert_eq!(s.touch(&c).err(), Some(Closed::Expired));
        assert_eq!(
            s.touch(&c).err(),
            Some(Closed::Unknown),
            "an expired session is forgotten"
        );
        let c = s.open("tok".into());
        for _ in 0..10 {
            advance(55);
            assert!(s.touch(&c).is_ok());
        }
        advance(55);
        assert_eq!(s.touch(&c).err(), Some(Closed::Expired), "past the maximum age");
    }

    #[test]
    fn sign_out_and_capacity() {
        let clock = Arc::new(Fake(Mutex::new(Instant::now())));
        let s = sessions(clock.clone());
        let a = s.open("a".into());
        *clock.0.lock().unwrap() += Duration::from_secs(1);
        let b = s.open("b".into());
        *clock.0.lock().unwrap() += Duration::from_secs(1);
        let c = s.open("c".into());
        assert!(s.touch(&a).is_err(), "the least recently used goes beyond the cap");
        assert_eq!(s.touch(&b).unwrap().token, "b");
        s.close(&c);
        assert!(s.touch(&c).is_err());
        assert!(s.touch("forged").is_err());
        assert_ne!(s.touch(&b).unwrap().csrf, "", "each session has a CSRF token");
    }

    #[test]
    fn cookies_are_strict() {
        let clock = Arc::new(Fake(Mutex::new(Instant::now())));
        let s = sessions(clock);
        let v = s.set_cookie(COOKIE, "abc");
        assert!(v.contains("HttpOnly") && v.contains("SameSite=Strict") && v.contains("Secure"));
        let mut h = axum::http::HeaderMap::new();
        h.insert(
            axum::http::header::COOKIE,
            "x=1; archipel_session=abc; y=2".parse().unwrap(),
        );
        assert_eq!(cookie(&h, COOKIE), Some("abc"));
        assert_eq!(cookie(&h, "z"), None);
    }
}
