//! Reed-Solomon encoding of stripes (filled in by the erasure-coding work).
