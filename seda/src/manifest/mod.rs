//! manifest.xml: a bounded, DTD-free reading of a SEDA 2.1–2.3 ArchiveTransfer into [`model`].
//!
//! The bytes are decoded (UTF-8 or ISO-8859-1), the version is read from the root namespace,
//! the document is read into a bounded element tree ([`ParseLimits`]) and the tree is turned
//! into the model. Elements outside Content that SEDA does not define are kept and listed in
//! [`ArchiveTransfer::extensions`]; references between ids are checked by [`crate::validate`].

mod ctx;
pub(crate) mod encoding;
mod error;
mod graph;
mod json;
mod limits;
pub mod model;
mod objects;
mod rules;
mod transfer;
pub(crate) mod tree;
mod units;

pub use error::ManifestError;
pub use graph::FlatUnit;
pub(crate) use graph::UnitGraph;
pub use limits::ParseLimits;
pub use model::*;
pub use objects::{ObjectVersion, VersionUsage};

use crate::version;

/// Parses manifest.xml.
pub fn parse(xml: &[u8], limits: &ParseLimits) -> Result<ArchiveTransfer, ManifestError> {
    if xml.len() > limits.max_bytes {
        return Err(ManifestError::TooLarge {
            size: xml.len(),
            limit: limits.max_bytes,
        });
    }
    let text = encoding::decode(xml)?;
    // On a refused version, a DTD or syntax error found by a full read is the better answer.
    let version = version::detect(text.as_bytes()).map_err(|e| match tree::build(&text, "", limits) {
        Err(precise) => precise,
        Ok(_) => ManifestError::Version(e),
    })?;
    let root = tree::build(&text, version.namespace(), limits)?;
    let mut ctx = ctx::Ctx {
        version,
        extensions: Vec::new(),
    };
    let mut transfer = transfer::transfer(&mut ctx, root)?;
    transfer.extensions = ctx.extensions;
    Ok(transfer)
}
