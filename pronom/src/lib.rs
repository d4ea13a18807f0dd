//! Native PRONOM format identification (to be built).
