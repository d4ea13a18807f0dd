//! The web interface over plain HTTP, as a browser without JavaScript uses it: the sign-in form
//! with its anti-forgery cookie and field, then pages and forms with the session cookie.

pub struct Ui {
    pub base: String,
    pub http: reqwest::Client,
}

/// The value of `name="…" value="…"` in a page.
pub fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} field in:\n{html}"))
        + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

/// `name=value` of a Set-Cookie header for `name`, with the whole header.
pub fn set_cookie(r: &reqwest::Response, name: &str) -> Option<(String, String)> {
    r.headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|v| (v.split(';').next().unwrap().to_owned(), v.to_owned()))
}

impl Ui {
    /// Signs in with `token` through the form; returns the session cookie (`name=value`).
    pub async fn sign_in(&self, token: &str) -> String {
        let r = self.get("/connexion", "").await;
        let (pre, _) = set_cookie(&r, "archipel_csrf").expect("a pre-session CSRF cookie");
        let csrf = hidden(&r.text().await.unwrap(), "_csrf");
        let r = self
            .post_form("/connexion", &pre, &format!("_csrf={csrf}&token={token}&retour=/ui/"))
            .await;
        assert_eq!(r.status(), 303, "sign-in refused");
        set_cookie(&r, "archipel_session").expect("a session cookie").0
    }

    pub async fn get(&self, path: &str, cookie: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.base))
            .header(reqwest::header::COOKIE, cookie)
            .send()
            .await
            .unwrap()
    }

    pub async fn post_form(&self, path: &str, cookie: &str, body: &str) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.base))
            .header(reqwest::header::COOKIE, cookie)
            .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body.to_owned())
            .send()
            .await
            .unwrap()
    }
}
