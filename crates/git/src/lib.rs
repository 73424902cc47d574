//! Git access for Sluice.
