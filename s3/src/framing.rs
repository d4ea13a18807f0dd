//! Requests s3s cannot take as they come.
//!
//! An `Authorization` header that is present but empty is refused here with `AccessDenied`
//! (403), as S3 does; s3s would answer a 400 for the header it cannot parse.
//!
//! A payload signed with its SHA-256 but sent with `Transfer-Encoding: chunked` and no
//! Content-Length (SDKs streaming a small body do this, and s3-tests checks it) has no known
//! length, which s3s needs to verify the hash: such a body is read here, up to
//! [`MAX_UNSIZED_BODY`], and handed on with its Content-Length. A bigger one is refused with
//! `MissingContentLength` (411), as S3 refuses any unsized body; unsigned payloads (and
//! `aws-chunked` ones, which carry `x-amz-decoded-content-length`) stream untouched.

use bytes::{Bytes, BytesMut};
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, TRANSFER_ENCODING};
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;

/// Largest chunked body without Content-Length read into memory to learn its length.
pub const MAX_UNSIZED_BODY: usize = 16 << 20;

/// Whether the request is a hash-signed payload of unknown length.
fn needs_length(req: &Request<Incoming>) -> bool {
    let h = req.headers();
    h.get(CONTENT_LENGTH).is_none()
        && h.get(TRANSFER_ENCODING)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
        && h.get("x-amz-content-sha256")
            .is_some_and(|v| v.len() == 64 && v.as_bytes().iter().all(u8::is_ascii_hexdigit))
}

/// The request as s3s should see it, or the S3 error answering it.
pub async fn prepare(req: Request<Incoming>) -> Result<Request<s3s::Body>, Response<s3s::Body>> {
    if req
        .headers()
        .get(http::header::AUTHORIZATION)
        .is_some_and(|v| v.as_bytes().iter().all(u8::is_ascii_whitespace))
    {
        return Err(error(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            "The Authorization header is empty: sign the request (AWS Signature Version 4).",
        ));
    }
    if !needs_length(&req) {
        return Ok(req.map(s3s::Body::from));
    }
    let (mut parts, mut body) = req.into_parts();
    let mut buf = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            error(
                StatusCode::BAD_REQUEST,
                "IncompleteBody",
                &format!("The request body could not be read: {e}"),
            )
        })?;
        if let Ok(data) = frame.into_data() {
            if buf.len() + data.len() > MAX_UNSIZED_BODY {
                return Err(error(
                    StatusCode::LENGTH_REQUIRED,
                    "MissingContentLength",
                    &format!(
                        "A chunked body without Content-Length is accepted up to {MAX_UNSIZED_BODY} bytes: send Content-Length, an aws-chunked body with x-amz-decoded-content-length, or a multipart upload."
                    ),
                ));
            }
            buf.extend_from_slice(&data);
        }
    }
    let bytes: Bytes = buf.freeze();
    parts.headers.insert(CONTENT_LENGTH, HeaderValue::from(bytes.len()));
    Ok(Request::from_parts(parts, s3s::Body::from(bytes)))
}

/// An S3 XML error answer (for the few refusals made before s3s sees the request).
fn error(status: StatusCode, code: &str, message: &str) -> Response<s3s::Body> {
    let escaped = message.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{escaped}</Message></Error>"
    );
    let mut res = Response::new(s3s::Body::from(xml));
    *res.status_mut() = status;
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/xml"));
    res
}
