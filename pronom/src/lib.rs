//! Native PRONOM file-format identification: DROID byte signatures and container signatures,
//! in process, without Siegfried, DROID or any server.
//!
//! ```no_run
//! use archipel_pronom::{Identifier, SignatureFiles};
//! let files = SignatureFiles::discover(None)?;
//! let id = Identifier::load(&files.droid, &files.container)?;
//! let found = id.identify_path("report.docx".as_ref())?;
//! println!("{:?} {} {:?}", found.puid, found.basis, found.warnings);
//! # Ok::<(), archipel_pronom::Error>(())
//! ```
//!
//! # Invariants
//!
//! - **Never reads a file whole.** Identification reads the first [`Limits::bof_window`] and the
//!   last [`Limits::eof_window`] bytes (1 MiB each by default); signatures, including
//!   variable-position ones and unbounded gaps (`*`), are matched inside those windows only.
//!   Container readers go through a meter that stops them after [`Limits::container_read`] raw
//!   bytes, read at most [`Limits::entry_bytes`] decompressed bytes of one entry and
//!   [`Limits::container_bytes`] of all entries. [`Identification::bytes_read`] reports what was read.
//! - **Never panics on input.** Any byte sequence, truncated container, zip bomb or malformed
//!   signature file gives a result or an [`Error`] that says what is wrong; searches run within
//!   a work budget, so no input makes matching quadratic.
//! - **Deterministic.** The same signature files, limits and bytes give the same result: ties
//!   are broken by extension, signature specificity, then signature-file order, never by
//!   timing or hashing.
//!
//! # How a file is identified
//!
//! 1. Byte signatures are matched on the windows ([`Limits`]).
//! 2. If a matched format is a container trigger (OLE2 `fmt/111`, ZIP `x-fmt/263`, …), the
//!    container is opened and its signatures replace the byte matches when one matches. An
//!    unreadable container leaves the byte matches, with a warning.
//! 3. PRONOM priorities drop formats that another matched format takes priority over; the rest
//!    are ranked (see [`Identification::candidates`]).
//! 4. With no match, an extension that names exactly one format gives an "extension only" answer;
//!    failing that, content that reads as text gives plain text (`x-fmt/111`, "text match").
//!
//! See `docs/pronom.md` for figures and limits.

mod container;
mod container_file;
mod droid;
mod error;
mod expr;
mod format;
#[doc(hidden)]
pub mod fuzzing;
mod identifier;
mod io;
mod keys;
mod limits;
mod matcher;
mod model;
mod pattern;
mod rank;
mod result;
mod search;
mod sigfiles;
mod sigparse;
pub mod suite;
mod text;
mod view;
mod walk;
mod xml;

pub use container_file::ContainerKind;
pub use error::{Error, Result};
pub use format::FileFormat;
pub use identifier::{Identifier, SignatureInfo};
pub use limits::Limits;
pub use result::{Agreement, Basis, Identification};
pub use sigfiles::SignatureFiles;
pub use walk::{collect_files, FileResult};
