//! Forms that create or change référentiels from the browser: services versants, contrats
//! d'entrée, profils d'archivage and contrats d'accès. Each form goes through the REST API's own
//! handler (`archipel_archive::api::{referentials, access}`), so checks, versions and logbook
//! entries are exactly the API's.

use std::future::Future;
use std::sync::Arc;

use archipel_archive::access::AccessContract;
use archipel_archive::api::access::{put_contract, AccessContractSpec};
use archipel_archive::api::referentials::{put_agency, put_agreement, put_profile, AgreementSpec, ProfileSpec};
use archipel_archive::api::{ApiResult, Caller};
use archipel_archive::auth::Role::Archivist;
use archipel_archive::model::{Agency, Profile};
use archipel_archive::service::Archive;
use archipel_archive::ArchiveError;
use axum::extract::{Multipart, Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Json};
use maud::{html, Markup};
use serde::Deserialize;

use crate::error::{UiError, UiResult};
use crate::extract::{encode, Viewer};
use crate::i18n::Lang;
use crate::UiState;

/// An RNG grammar sent through the form, at most.
const MAX_RNG_BYTES: usize = 2 << 20;

/// Saves `body` at `path` through the REST API's own `handler`, as the viewer.
async fn through_api<P, B, T, F>(
    ui: &UiState,
    v: &Viewer,
    handler: impl FnOnce(State<Arc<Archive>>, Caller, Path<P>, Json<B>) -> F,
    path: P,
    body: B,
) -> UiResult<T>
where
    F: Future<Output = ApiResult<Json<T>>>,
{
    let Json(stored) = handler(State(ui.archive.clone()), Caller(v.who.clone()), Path(path), Json(body)).await?;
    Ok(stored)
}

/// A list typed one item per line (or separated by commas or semicolons).
fn items(s: &str) -> Vec<String> {
    s.split(['\n', ',', ';'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn id(s: &str) -> UiResult<String> {
    let s = s.trim();
    archipel_archive::model::check_id("referential", s)?;
    Ok(s.to_owned())
}

fn saved(anchor: &str, id: &str) -> Response {
    Redirect::to(&format!("/ui/referentiels?enregistre={}#{anchor}", encode(id))).into_response()
}

#[derive(Deserialize)]
pub struct AgencyForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    id: String,
    #[serde(default)]
    nom: String,
}

pub async fn agency(State(ui): State<UiState>, v: Viewer, Form(f): Form<AgencyForm>) -> UiResult<Response> {
    crate::csrf::check(&ui, &v, &f.csrf, "referentiels.services").await?;
    let tenant = v.allow(&ui, &[Archivist]).await?;
    let id = id(&f.id)?;
    let name = match f.nom.trim() {
        "" => id.clone(),
        n => n.to_owned(),
    };
    let agency = Agency { id, name };
    let stored = through_api(&ui, &v, put_agency, tenant, agency).await?;
    Ok(saved("services", &stored.id))
}

#[derive(Deserialize)]
pub struct AgreementForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    id: String,
    #[serde(default)]
    nom: String,
    #[serde(default)]
    services: String,
    #[serde(default)]
    profil: String,
    #[serde(default)]
    formats: String,
    #[serde(default)]
    actif: Option<String>,
}

pub async fn agreement(State(ui): State<UiState>, v: Viewer, Form(f): Form<AgreementForm>) -> UiResult<Response> {
    crate::csrf::check(&ui, &v, &f.csrf, "referentiels.contrats").await?;
    let tenant = v.allow(&ui, &[Archivist]).await?;
    let id = id(&f.id)?;
    let agencies = items(&f.services);
    if agencies.is_empty() {
        return Err(UiError::Archive(ArchiveError::Invalid(
            "name at least one transferring agency (service versant) for the agreement".into(),
        )));
    }
    let profile = Some(f.profil.trim()).filter(|p| !p.is_empty());
    // Through serde so that the severities keep the API's defaults.
    let spec: AgreementSpec = serde_json::from_value(serde_json::json!({
        "name": f.nom.trim(),
        "transferring_agencies": agencies,
        "profile": profile,
        "allowed_formats": items(&f.formats),
        "active": f.actif.is_some(),
    }))
    .map_err(ArchiveError::from)?;
    let stored = through_api(&ui, &v, put_agreement, (tenant, id), spec).await?;
    Ok(saved("contrats", &stored.id))
}

pub async fn profile(State(ui): State<UiState>, v: Viewer, mut parts: Multipart) -> UiResult<Response> {
    let bad = |e: axum::extract::multipart::MultipartError| {
        UiError::Archive(ArchiveError::Invalid(format!("the form could not be read: {e}")))
    };
    let token = match parts.next_field().await.map_err(bad)? {
        Some(f) if f.name() == Some(crate::csrf::FIELD) => f.text().await.map_err(bad)?,
        _ => String::new(),
    };
    crate::csrf::check(&ui, &v, &token, "referentiels.profils").await?;
    let tenant = v.allow(&ui, &[Archivist]).await?;
    let (mut pid, mut name, mut fields, mut formats, mut rng) =
        (String::new(), String::new(), String::new(), String::new(), None);
    while let Some(f) = parts.next_field().await.map_err(bad)? {
        match f.name() {
            Some("id") => pid = f.text().await.map_err(bad)?,
            Some("nom") => name = f.text().await.map_err(bad)?,
            Some("champs") => fields = f.text().await.map_err(bad)?,
            Some("formats") => formats = f.text().await.map_err(bad)?,
            Some("rng") => {
                let bytes = f.bytes().await.map_err(bad)?;
                if bytes.len() > MAX_RNG_BYTES {
                    return Err(UiError::Archive(ArchiveError::TooLarge(format!(
                        "an RNG grammar is at most {MAX_RNG_BYTES} bytes"
                    ))));
                }
                if !bytes.is_empty() {
                    rng = Some(String::from_utf8(bytes.to_vec()).map_err(|_| {
                        UiError::Archive(ArchiveError::Invalid("the RNG file is not UTF-8 text".into()))
                    })?);
                }
            }
            _ => {}
        }
    }
    let pid = id(&pid)?;
    let spec = ProfileSpec {
        name: name.trim().to_owned(),
        required_fields: items(&fields),
        allowed_formats: items(&formats),
        rng,
    };
    let stored = through_api(&ui, &v, put_profile, (tenant, pid), spec).await?;
    Ok(saved("profils", &stored.id))
}

#[derive(Deserialize)]
pub struct AccessForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    id: String,
    #[serde(default)]
    nom: String,
    #[serde(default)]
    producteurs: String,
    #[serde(default)]
    tous: Option<String>,
    #[serde(default)]
    non_communicables: Option<String>,
    #[serde(default)]
    usages: String,
    #[serde(default)]
    dip: Option<String>,
    #[serde(default)]
    actif: Option<String>,
}

pub async fn access_contract(State(ui): State<UiState>, v: Viewer, Form(f): Form<AccessForm>) -> UiResult<Response> {
    crate::csrf::check(&ui, &v, &f.csrf, "referentiels.contrats-acces").await?;
    let tenant = v.allow(&ui, &[Archivist]).await?;
    let id = id(&f.id)?;
    let spec = AccessContractSpec {
        name: f.nom.trim().to_owned(),
        originating_agencies: items(&f.producteurs),
        all_originating_agencies: f.tous.is_some(),
        see_non_communicable: f.non_communicables.is_some(),
        object_usages: items(&f.usages),
        may_request_dips: f.dip.is_some(),
        active: f.actif.is_some(),
    };
    let stored = through_api(&ui, &v, put_contract, (tenant, id), spec).await?;
    Ok(saved("contrats-acces", &stored.id))
}

/// The four forms, each in a `details` so the page stays readable.
pub fn forms(l: Lang, csrf: &str, profiles: &[Profile]) -> Markup {
    html! {
        details #nouveau-service {
            summary { (l.t("Ajouter ou renommer un service versant", "Add or rename a transferring agency")) }
            form.stack method="post" action="/ui/referentiels/services" {
                (super::csrf_field(csrf))
                label for="sv-id" { (l.t("Identifiant", "Identifier")) }
                input #sv-id type="text" name="id" required;
                label for="sv-nom" { (l.t("Nom", "Name")) }
                input #sv-nom type="text" name="nom";
                div { button.primary type="submit" { (l.t("Enregistrer le service versant", "Save the agency")) } }
            }
        }
        details #nouveau-contrat {
            summary { (l.t("Créer ou modifier un contrat d’entrée", "Create or change an ingest agreement")) }
            form.stack method="post" action="/ui/referentiels/contrats" {
                (super::csrf_field(csrf))
                label for="ce-id" { (l.t("Identifiant (ArchivalAgreement des bordereaux)", "Identifier (the manifests' ArchivalAgreement)")) }
                input #ce-id type="text" name="id" required;
                label for="ce-nom" { (l.t("Intitulé", "Name")) }
                input #ce-nom type="text" name="nom";
                label for="ce-services" { (l.t("Services versants autorisés (un par ligne)", "Transferring agencies allowed (one per line)")) }
                textarea #ce-services name="services" rows="2" required {}
                label for="ce-profil" { (l.t("Profil d’archivage", "Archival profile")) }
                select #ce-profil name="profil" {
                    option value="" { (l.t("aucun", "none")) }
                    @for p in profiles { option value=(p.id) { (p.id) " — " (p.name) } }
                }
                label for="ce-formats" { (l.t("Formats autorisés (PUID, un par ligne ; vide : tous)", "Allowed formats (PUID, one per line; empty: any)")) }
                textarea #ce-formats name="formats" rows="2" {}
                div.check { input #ce-actif type="checkbox" name="actif" value="oui" checked; label for="ce-actif" { (l.t("Actif", "Active")) } }
                div { button.primary type="submit" { (l.t("Enregistrer le contrat d’entrée", "Save the agreement")) } }
            }
        }
        details #nouveau-profil {
            summary { (l.t("Créer ou modifier un profil d’archivage", "Create or change an archival profile")) }
            form.stack method="post" action="/ui/referentiels/profils" enctype="multipart/form-data" {
                (super::csrf_field(csrf))
                label for="pr-id" { (l.t("Identifiant", "Identifier")) }
                input #pr-id type="text" name="id" required;
                label for="pr-nom" { (l.t("Intitulé", "Name")) }
                input #pr-nom type="text" name="nom";
                label for="pr-champs" { (l.t("Champs descriptifs obligatoires (un par ligne, ex. Title)", "Required descriptive fields (one per line, e.g. Title)")) }
                textarea #pr-champs name="champs" rows="2" {}
                label for="pr-formats" { (l.t("Formats autorisés (PUID, un par ligne)", "Allowed formats (PUID, one per line)")) }
                textarea #pr-formats name="formats" rows="2" {}
                label for="pr-rng" { (l.t("Grammaire RELAX NG (fichier .rng, facultatif)", "RELAX NG grammar (.rng file, optional)")) }
                input #pr-rng type="file" name="rng" accept=".rng,application/xml";
                div { button.primary type="submit" { (l.t("Enregistrer le profil", "Save the profile")) } }
            }
        }
        details #nouveau-contrat-acces {
            summary { (l.t("Créer ou modifier un contrat d’accès", "Create or change an access contract")) }
            form.stack method="post" action="/ui/referentiels/contrats-acces" {
                (super::csrf_field(csrf))
                label for="ca-id" { (l.t("Identifiant", "Identifier")) }
                input #ca-id type="text" name="id" required;
                label for="ca-nom" { (l.t("Intitulé", "Name")) }
                input #ca-nom type="text" name="nom";
                label for="ca-producteurs" { (l.t("Services producteurs visibles (un par ligne)", "Originating agencies visible (one per line)")) }
                textarea #ca-producteurs name="producteurs" rows="2" {}
                div.check { input #ca-tous type="checkbox" name="tous" value="oui"; label for="ca-tous" { (l.t("Tous les services producteurs", "Every originating agency")) } }
                div.check { input #ca-nc type="checkbox" name="non_communicables" value="oui"; label for="ca-nc" { (l.t("Voir aussi les unités non encore communicables (sans leur contenu)", "Also see units not yet communicable (without their content)")) } }
                label for="ca-usages" { (l.t("Usages téléchargeables (BinaryMaster, Dissemination… ; vide : tous)", "Usages that may be downloaded (BinaryMaster, Dissemination…; empty: all)")) }
                input #ca-usages type="text" name="usages";
                div.check { input #ca-dip type="checkbox" name="dip" value="oui" checked; label for="ca-dip" { (l.t("Peut demander des communications (DIP)", "May ask for communications (DIP)")) } }
                div.check { input #ca-actif type="checkbox" name="actif" value="oui" checked; label for="ca-actif" { (l.t("Actif", "Active")) } }
                div { button.primary type="submit" { (l.t("Enregistrer le contrat d’accès", "Save the access contract")) } }
            }
        }
    }
}

/// The access contracts, for the referentials page.
pub fn access_table(l: Lang, contracts: &[AccessContract]) -> Markup {
    html! {
        @if contracts.is_empty() { p { (l.t("Aucun contrat d’accès.", "No access contract.")) } } @else {
            table {
                thead { tr {
                    th scope="col" { (l.t("Identifiant", "Identifier")) }
                    th scope="col" { (l.t("Intitulé", "Name")) }
                    th scope="col" { (l.t("Services producteurs", "Originating agencies")) }
                    th scope="col" { (l.t("Non communicables visibles", "Not communicable visible")) }
                    th scope="col" { (l.t("Communications", "Communications")) }
                    th scope="col" { (l.t("Actif", "Active")) }
                    th scope="col" { (l.t("Version", "Version")) }
                } }
                tbody { @for c in contracts { tr {
                    td { code { (c.id) } }
                    td { (c.name) }
                    td { @if c.all_originating_agencies { (l.t("tous", "all")) } @else { (c.originating_agencies.join(", ")) } }
                    td { (if c.see_non_communicable { l.t("oui", "yes") } else { l.t("non", "no") }) }
                    td { (if c.may_request_dips { l.t("oui", "yes") } else { l.t("non", "no") }) }
                    td { (if c.active { l.t("oui", "yes") } else { l.t("non", "no") }) }
                    td { (c.version) }
                } } }
            }
        }
    }
}
