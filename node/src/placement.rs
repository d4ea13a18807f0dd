//! Site-aware placement of shards (filled in by the placement work).
