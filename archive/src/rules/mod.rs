//! Management rules: what a SIP's units declare, checked against SEDA and the tenant's rules
//! referential, and what is in force on each unit once inherited along every path of the unit
//! DAG. Pure functions, no I/O: ingest calls [`units::compute`] and stores what it returns.
//! docs/archive.md ("Rules") gives the algorithm and its sources.

pub mod content;
pub mod dates;
pub mod declare;
pub mod describe;
pub mod inherit;
pub mod metadata;
pub mod recompute;
pub mod referential;
pub mod units;
pub mod update;

#[cfg(test)]
mod acceptance;
#[cfg(test)]
mod props;
#[cfg(test)]
mod tests;

pub use units::{compute, UnitInput, UnitRules};
