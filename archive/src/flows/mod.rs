//! Transfer flows as configuration: a flow definition (TOML, see `docs/flows.md`) says how to
//! recognise a partner's payloads, what metadata to read from them, and how to describe them in
//! SEDA; [`build_sip`] turns payloads into a SIP that the official schemas accept.
//!
//! The flows every partner starts with ship in `archive/flows/` ([`builtin_flows`]): @ctes
//! (acts and deliberations), PES (Hélios accounting) and public procurement. Adding a flow is
//! writing a file, not code.
//!
//! Invariants:
//! - A definition with an unknown key, a bad path, or a template naming an unknown field is
//!   refused at load, with the file and key named.
//! - Every payload ends up in exactly one group, or the build fails naming the file.
//! - Payload XML is read streaming, in its declared encoding, with bounded memory; a DOCTYPE is
//!   refused.
//! - A SIP is written whole (temporary file, fsync, rename) or not at all; digests are of the
//!   bytes written into it.

mod build;
mod definition;
mod detect;
mod error;
mod group;
mod load;
mod manifest;
mod package;
mod path;
pub mod signature;
mod template;
mod xml;

pub use build::{build_sip, BuildContext, BuildReport, FileReport, GroupReport};
pub use definition::{
    AccessRule, AgreementTemplate, AppraisalRule, AttachmentSpec, DescriptiveElement, DocumentKind, FieldSpec,
    FieldType, FileSpec, FinalAction, FlowDefinition, KeywordSpec, KeywordType, Level, MismatchPolicy, Profile, Rules,
    RulesCase, SedaVersion,
};
pub use detect::detect_flow;
pub use error::FlowError;
pub use load::{builtin_flows, load_dir, BUILTIN_FLOWS};
pub use package::SipWriter;
pub use path::FieldPath;
pub use template::{Template, BUILTIN_NAMES};

/// The management rules the pilot flows name, for the tenant's referential (see docs/flows.md).
pub const PILOT_RULES_CSV: &str = include_str!("../../flows/rules.csv");
