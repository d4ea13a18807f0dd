//! The stylesheet, the upload script and the icon, compiled into the binary.

use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::error::{UiError, UiResult};

const CSS: &str = include_str!("../assets/app.css");
const UPLOAD_JS: &str = include_str!("../assets/upload.js");
const FAVICON: &str = include_str!("../assets/favicon.svg");

pub async fn serve(Path(name): Path<String>) -> UiResult<Response> {
    let (mime, body) = match name.as_str() {
        "app.css" => ("text/css; charset=utf-8", CSS),
        "upload.js" => ("text/javascript; charset=utf-8", UPLOAD_JS),
        "favicon.svg" => ("image/svg+xml", FAVICON),
        _ => return Err(UiError::Archive(archipel_archive::ArchiveError::NotFound(name))),
    };
    Ok((
        [
            (header::CONTENT_TYPE, mime),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response())
}
