//! The FX, DI and related types tier 1 needs, with their official NodeIds.
