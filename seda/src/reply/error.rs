//! Why a reply message could not be written.

use thiserror::Error;

/// A reply that would not be valid SEDA; `field` names the field at fault, such as
/// `archival_agency` or `objects[2].data_object_id`.
#[derive(Debug, Error)]
pub enum ReplyError {
    #[error("{field} is empty, but SEDA requires it in the {message}: set it before writing the reply")]
    MissingField { message: &'static str, field: String },
    #[error("{field} is {len} characters long, more than the {max} allowed in a reply: shorten it")]
    TooLong { field: String, len: usize, max: usize },
    #[error("{field} {value:?} is not a valid XML identifier (xsd:ID: a letter or '_' first, then letters, digits, '.', '-', '_'): pass the identifier the SIP declared, which the schema forces to be one")]
    InvalidId { field: String, value: String },
    #[error("{field} {value:?} is used twice in the reply, but data object and archive unit ids must be unique together: pass each object and unit once")]
    DuplicateId { field: String, value: String },
    #[error("{field} {value:?} is neither hexadecimal nor base64: pass the digest value as computed, in hex")]
    InvalidDigest { field: String, value: String },
    #[error(
        "{field} {value} is outside the years 1 to 9999 that SEDA dates can hold: check the clock or the date passed"
    )]
    DateOutOfRange { field: String, value: String },
    #[error("writing the reply XML failed: {0}")]
    Write(#[from] std::io::Error),
}
