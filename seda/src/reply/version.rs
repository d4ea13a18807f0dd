//! Replies are written in the transfer's own SEDA version.

pub use crate::version::SedaVersion;
