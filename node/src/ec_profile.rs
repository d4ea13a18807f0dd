//! An erasure-coding profile: k data shards plus m parity shards per stripe.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// More shards than this per stripe buys nothing at Archipel's scale and costs RPC fan-out.
pub const MAX_TOTAL_SHARDS: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EcProfile {
    /// k: shards holding the data.
    pub data: u8,
    /// m: parity shards; any m shards of a stripe may be lost.
    pub parity: u8,
}

impl EcProfile {
    pub fn new(data: u8, parity: u8) -> Result<Self, String> {
        let p = Self { data, parity };
        p.validate()?;
        Ok(p)
    }

    pub fn validate(&self) -> Result<(), String> {
        if self.data == 0 {
            return Err("an EC profile needs at least one data shard".into());
        }
        if self.total() > MAX_TOTAL_SHARDS {
            return Err(format!(
                "{self} has {} shards; at most {MAX_TOTAL_SHARDS}",
                self.total()
            ));
        }
        Ok(())
    }

    pub fn total(&self) -> usize {
        self.data as usize + self.parity as usize
    }

    /// Raw bytes stored per byte of object.
    pub fn overhead(&self) -> f64 {
        self.total() as f64 / self.data as f64
    }
}

impl fmt::Display for EcProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}+{}", self.data, self.parity)
    }
}

impl FromStr for EcProfile {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("`{s}` is not an EC profile: write k+m, e.g. 5+3");
        let (k, m) = s.split_once('+').ok_or_else(bad)?;
        let k: u8 = k.trim().parse().map_err(|_| bad())?;
        let m: u8 = m.trim().parse().map_err(|_| bad())?;
        Self::new(k, m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints() {
        let p: EcProfile = "5+3".parse().unwrap();
        assert_eq!(p, EcProfile { data: 5, parity: 3 });
        assert_eq!(p.to_string(), "5+3");
        assert!((p.overhead() - 1.6).abs() < 1e-9);
        assert!("0+3".parse::<EcProfile>().is_err());
        assert!("30+3".parse::<EcProfile>().is_err());
        assert!("five".parse::<EcProfile>().is_err());
    }
}
