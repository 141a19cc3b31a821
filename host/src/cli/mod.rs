//! The commands beside `switchyard run`, one file each; `main.rs` parses the
//! command line and calls them.
//! - [`trial`]: `switchyard check` and `switchyard try`.
//! - [`send`]: `switchyard send`.
//! - [`status`]: `switchyard status`.
//! - [`replay`]: `switchyard dead-letters` and `switchyard replay`.
pub mod replay;
pub mod send;
pub mod status;
pub mod trial;
