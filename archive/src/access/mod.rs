//! Access and communication: access contracts, the communicability of units (Code du
//! patrimoine L213-1 and L213-2), and where they are enforced (`guard`). Deliveries (DIPs) and
//! derogations are in [`crate::delivery`].

pub mod clock;
pub mod communicability;
pub mod contract;
pub mod guard;
pub mod legal;

pub use clock::AccessClock;
pub use communicability::{Communicability, CommunicableFrom};
pub use contract::{AccessContract, ACCESS_CONTRACT};
pub use guard::Scope;
