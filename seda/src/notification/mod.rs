//! SEDA notifications an archival agency sends after acting on archived units: the
//! ArchiveDestructionNotification (units eliminated under a control authority's authorisation)
//! and the ArchiveModificationNotification (their management metadata changed).
//!
//! Both extend `BusinessNotificationMessageType`, identical in SEDA 2.1, 2.2 and 2.3:
//! `Comment*, Date, MessageIdentifier, ArchivalAgreement?, CodeListVersions`, then the message's
//! own elements. Written with the same escaping writer as the replies (`reply::xml`).

mod destruction;
mod frame;
mod modification;

pub use destruction::{write_destruction_notification, DestructionNotification};
pub(crate) use frame::{units_message, UnitsMessage};
pub use modification::{write_modification_notification, ModificationNotification};
