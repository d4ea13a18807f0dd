//! Verser un SIP: a multipart form (the CSRF token first, then the zip), streamed to the
//! front's spool under its SIP size limit, then handed to ingest like an API upload. A
//! progress bar comes from `assets/upload.js`; without it the browser's own does.

use archipel_archive::auth::Role::{Archivist, TransferringAgency};
use archipel_archive::ArchiveError;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use tokio::io::AsyncWriteExt;

use crate::error::{UiError, UiResult};
use crate::extract::Viewer;
use crate::format;
use crate::i18n::Lang;
use crate::layout::{self, Nav};
use crate::UiState;

const UPLOADERS: &[archipel_archive::auth::Role] = &[TransferringAgency, Archivist];

fn form_page(ui: &UiState, v: &Viewer, problem: Option<String>) -> Response {
    let l = v.lang;
    let max = ui.archive.config.max_sip_bytes;
    let too_large = match l {
        Lang::Fr => format!(
            "Ce fichier dépasse la taille maximale acceptée ({}) : il n’a pas été envoyé. Scindez le versement.",
            format::size(l, max)
        ),
        Lang::En => format!(
            "This file is larger than the maximum accepted ({}): it was not sent. Split the transfer.",
            format::size(l, max)
        ),
    };
    let body = html! {
        @if let Some(p) = &problem {
            div.notice.ko role="alert" { p { (p) } }
        }
        p { (l.t(
            "Déposez le paquet d’informations à verser (SIP) : une archive zip contenant le bordereau de transfert SEDA (manifest.xml) et les fichiers qu’il décrit. Le contrôle commence dès la réception ; vous suivez ensuite chaque étape sur la page du versement.",
            "Upload the submission information package (SIP): a zip holding the SEDA transfer manifest (manifest.xml) and the files it describes. Checking starts on receipt; you then follow each step on the transfer's page.",
        )) }
        form #sip-upload .stack method="post" action="/ui/versements/nouveau" enctype="multipart/form-data"
            data-max-bytes=(max) data-too-large=(too_large)
            data-failed=(l.t("L’envoi a échoué (connexion interrompue). Réessayez.", "The upload failed (connection lost). Try again.")) {
            (super::csrf_field(&v.csrf))
            label for="sip" { (l.t("Paquet SIP (zip)", "SIP package (zip)")) }
            p.hint #sip-hint { (l.t("Taille maximale : ", "Maximum size: ")) (format::size(l, max)) }
            input #sip type="file" name="sip" accept=".zip,application/zip" required aria-describedby="sip-hint";
            div { button.primary type="submit" { (l.t("Verser", "Transfer")) } }
            div hidden {
                label for="sip-progress" { (l.t("Envoi", "Upload")) }
                progress #sip-progress max="100" value="0" {}
                span #sip-progress-label role="status" aria-live="polite" {}
            }
        }
        script src="/ui/assets/upload.js" defer {}
    };
    layout::page(
        v,
        Some(Nav::Transfers),
        l.t("Verser un paquet (SIP)", "Transfer a package (SIP)"),
        body,
    )
}

pub async fn form(State(ui): State<UiState>, v: Viewer) -> UiResult<Response> {
    v.allow(&ui, UPLOADERS).await?;
    Ok(form_page(&ui, &v, None))
}

/// Bytes of an over-limit upload still read (and dropped) so the browser sees the answer page
/// rather than a reset connection; past this the connection is closed.
const DRAIN_LIMIT: u64 = 256 << 20;

pub async fn submit(State(ui): State<UiState>, v: Viewer, mut parts: Multipart) -> UiResult<Response> {
    let l = v.lang;
    // The token comes first in the form: nothing is spooled for a forged one.
    let first = parts.next_field().await.map_err(bad_form)?;
    let token = match first {
        Some(f) if f.name() == Some(crate::csrf::FIELD) => f.text().await.map_err(bad_form)?,
        _ => String::new(),
    };
    crate::csrf::check(&ui, &v, &token, "versement").await?;
    let tenant = v.allow(&ui, UPLOADERS).await?;
    let Some(mut field) = parts.next_field().await.map_err(bad_form)? else {
        return Ok(form_page(
            &ui,
            &v,
            Some(l.t("Choisissez un fichier.", "Choose a file.").into()),
        ));
    };
    if field.name() != Some("sip") {
        return Ok(form_page(
            &ui,
            &v,
            Some(l.t("Choisissez un fichier.", "Choose a file.").into()),
        ));
    }
    let a = &ui.archive;
    let spool = tempfile::Builder::new()
        .prefix("sip-ui-")
        .suffix(".zip")
        .tempfile_in(&a.config.spool_dir)
        .map_err(|e| ArchiveError::Internal(format!("cannot create a spool file: {e}")))?;
    let (std_file, path) = spool.into_parts();
    let mut file = tokio::fs::File::from_std(std_file);
    let mut size = 0u64;
    let idle = a.config.body_idle_timeout;
    loop {
        let next = tokio::time::timeout(idle, field.chunk()).await.map_err(|_| {
            ArchiveError::Invalid(format!(
                "the upload stalled: nothing received for {}s after {size} bytes; send the SIP again",
                idle.as_secs()
            ))
        })?;
        let Some(chunk) = next.map_err(bad_form)? else { break };
        size += chunk.len() as u64;
        if size > a.config.max_sip_bytes {
            // Dropping `path` removes the spool file: nothing is stored.
            drop(file);
            drop(path);
            while size <= a.config.max_sip_bytes + DRAIN_LIMIT {
                match tokio::time::timeout(idle, field.chunk()).await {
                    Ok(Ok(Some(c))) => size += c.len() as u64,
                    _ => break,
                }
            }
            let text = match l {
                Lang::Fr => format!(
                    "Ce fichier dépasse la taille maximale acceptée ({}) : rien n’a été enregistré. Scindez le versement.",
                    format::size(l, a.config.max_sip_bytes)
                ),
                Lang::En => format!(
                    "This file is larger than the maximum accepted ({}): nothing was stored. Split the transfer.",
                    format::size(l, a.config.max_sip_bytes)
                ),
            };
            let mut r = form_page(&ui, &v, Some(text));
            *r.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
            return Ok(r);
        }
        file.write_all(&chunk)
            .await
            .map_err(|e| ArchiveError::Internal(format!("spooling the SIP failed: {e}")))?;
    }
    file.flush()
        .await
        .map_err(|e| ArchiveError::Internal(format!("spooling the SIP failed: {e}")))?;
    drop(file);
    if size == 0 {
        return Ok(form_page(
            &ui,
            &v,
            Some(l.t("Le fichier choisi est vide.", "The chosen file is empty.").into()),
        ));
    }
    let t = archipel_archive::ingest::submit(a, &v.who, &tenant, path, size).await?;
    Ok(Redirect::to(&format!("/ui/versements/{}", t.id)).into_response())
}

fn bad_form(e: axum::extract::multipart::MultipartError) -> UiError {
    UiError::Archive(ArchiveError::Invalid(format!("the form could not be read: {e}")))
}
