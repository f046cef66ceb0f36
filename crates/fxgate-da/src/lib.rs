//! The OPC COM DA ↔ OPC UA mapping of OPC 10000-8 Annex A, as pure functions.
//!
//! Each table of the Annex lives once in code, readable against the spec:
//! - [`quality`]: DA quality (QQSSSSLL) ↔ UA StatusCode (Figures A.7, A.10; Tables A.33, A.37);
//! - [`errors`]: DA read/write HRESULTs ↔ UA StatusCodes (Tables A.34, A.35, A.38, A.39);
//! - [`types`]: VARIANT types ↔ UA data types (Tables A.32, A.36);
//! - [`itemid`]: ItemID ↔ NodeId syntax (A.4.2.3);
//! - [`properties`]: the DA item properties of a UA variable (A.4.2, Table A.31).

#![warn(missing_docs)]

pub mod errors;
pub mod itemid;
pub mod properties;
pub mod quality;
pub mod types;
