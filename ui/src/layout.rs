//! The page shell: skip link, header with the tenant and the signed-in role, navigation by role,
//! language switch, sign-out, main content. Also the headers every response carries.

use archipel_archive::auth::Role;
use axum::http::{header, HeaderValue};
use axum::response::{Html, IntoResponse, Response};
use maud::{html, Markup, DOCTYPE};

use crate::extract::{encode, Viewer};
use crate::i18n::Lang;

/// The screens, in navigation order. A new screen adds a variant here and a line in [`nav_items`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Dashboard,
    Transfers,
    Search,
    Communications,
    Eliminations,
    Outgoing,
    Register,
    Logbook,
    Referentials,
    Operations,
    Tokens,
}

impl Nav {
    fn href(self) -> &'static str {
        match self {
            Nav::Dashboard => "/ui/",
            Nav::Transfers => "/ui/versements",
            Nav::Search => "/ui/recherche",
            Nav::Communications => "/ui/communications",
            Nav::Eliminations => "/ui/eliminations",
            Nav::Outgoing => "/ui/sorties",
            Nav::Register => "/ui/registre",
            Nav::Logbook => "/ui/journal",
            Nav::Referentials => "/ui/referentiels",
            Nav::Operations => "/ui/exploitation",
            Nav::Tokens => "/ui/jetons",
        }
    }

    fn label(self, l: Lang) -> &'static str {
        match self {
            Nav::Dashboard => l.t("Tableau de bord", "Dashboard"),
            Nav::Transfers => l.t("Versements", "Transfers"),
            Nav::Search => l.t("Recherche", "Search"),
            Nav::Communications => l.t("Communications", "Communications"),
            Nav::Eliminations => l.t("Éliminations", "Eliminations"),
            Nav::Outgoing => l.t("Restitutions et transferts sortants", "Restitutions and transfers out"),
            Nav::Register => l.t("Registre des entrées", "Accession register"),
            Nav::Logbook => l.t("Journal", "Logbook"),
            Nav::Referentials => l.t("Référentiels", "Referentials"),
            Nav::Operations => l.t("Exploitation", "Operations"),
            Nav::Tokens => l.t("Jetons d’accès", "Access tokens"),
        }
    }
}

/// What each role may open (the archive checks again on every page).
pub fn nav_items(role: Role) -> &'static [Nav] {
    match role {
        Role::Archivist => &[
            Nav::Dashboard,
            Nav::Transfers,
            Nav::Search,
            Nav::Communications,
            Nav::Eliminations,
            Nav::Outgoing,
            Nav::Register,
            Nav::Logbook,
            Nav::Referentials,
        ],
        Role::TransferringAgency => &[Nav::Dashboard, Nav::Transfers, Nav::Communications],
        Role::ControlAuthority => &[
            Nav::Dashboard,
            Nav::Search,
            Nav::Communications,
            Nav::Eliminations,
            Nav::Outgoing,
            Nav::Register,
            Nav::Logbook,
        ],
        Role::Operator => &[Nav::Operations, Nav::Tokens],
        // Requesters consult through communication requests.
        Role::Requester => &[Nav::Communications],
    }
}

pub fn role_label(l: Lang, role: Role) -> &'static str {
    match role {
        Role::Archivist => l.t("Archiviste", "Archivist"),
        Role::TransferringAgency => l.t("Service versant", "Transferring agency"),
        Role::ControlAuthority => l.t("Autorité de contrôle", "Control authority"),
        Role::Operator => l.t("Exploitant", "Operator"),
        Role::Requester => l.t("Demandeur", "Requester"),
    }
}

fn head(l: Lang, title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " — Archipel" }
            link rel="stylesheet" href="/ui/assets/app.css";
            link rel="icon" href="/ui/assets/favicon.svg" type="image/svg+xml";
            meta name="description" content=(l.t("Système d’archivage électronique mutualisé", "Shared electronic archiving system"));
        }
    }
}

/// A page of a signed-in reader.
pub fn page(v: &Viewer, active: Option<Nav>, title: &str, body: Markup) -> Response {
    let l = v.lang;
    let other = match l {
        Lang::Fr => Lang::En,
        Lang::En => Lang::Fr,
    };
    let markup = html! {
        (DOCTYPE)
        html lang=(l.code()) {
            (head(l, title))
            body {
                a.skip href="#contenu" { (l.t("Aller au contenu", "Skip to content")) }
                header.top {
                    div.brand {
                        a href="/ui/" { "Archipel" }
                        @if let Some(t) = &v.who.tenant {
                            span.tenant { (l.t("Service d’archives : ", "Archives: ")) strong { (t) } }
                        }
                    }
                    nav aria-label=(l.t("Navigation principale", "Main navigation")) {
                        ul {
                            @for item in nav_items(v.who.role) {
                                li {
                                    @if Some(*item) == active {
                                        a href=(item.href()) aria-current="page" { (item.label(l)) }
                                    } @else {
                                        a href=(item.href()) { (item.label(l)) }
                                    }
                                }
                            }
                        }
                    }
                    div.who {
                        span { (role_label(l, v.who.role)) }
                        @if let Some(a) = &v.who.agency { span { " · " (a) } }
                        a lang=(other.code()) hreflang=(other.code()) href={ "/ui/langue/" (other.code()) "?retour=" (encode(&v.here)) } {
                            (l.t("English", "Français"))
                        }
                        form method="post" action="/ui/deconnexion" {
                            input type="hidden" name="_csrf" value=(v.csrf);
                            button type="submit" { (l.t("Se déconnecter", "Sign out")) }
                        }
                    }
                }
                main #contenu tabindex="-1" {
                    h1 { (title) }
                    (body)
                }
                footer {
                    p { (l.t("Archipel — archivage électronique mutualisé. Heures de Paris (UTC+1, UTC+2 en été).", "Archipel — shared electronic archiving. Times in Paris time (UTC+1, UTC+2 in summer).")) }
                }
            }
        }
    };
    Html(markup.into_string()).into_response()
}

/// A page without navigation: sign-in and errors.
pub fn bare(l: Lang, title: &str, body: Markup) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang=(l.code()) {
            (head(l, title))
            body.bare {
                a.skip href="#contenu" { (l.t("Aller au contenu", "Skip to content")) }
                header.top { div.brand { a href="/ui/" { "Archipel" } } }
                main #contenu tabindex="-1" {
                    h1 { (title) }
                    (body)
                }
            }
        }
    };
    Html(markup.into_string()).into_response()
}

/// Headers on every response of the interface: no framing by others, no sniffing, no caching
/// of pages that show archives, scripts and styles only from this front.
pub async fn security_headers(mut r: Response) -> Response {
    let h = r.headers_mut();
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'",
            ),
        );
    }
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    r
}
