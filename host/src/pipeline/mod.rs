//! A job's path through switchyard, one stage a file, in the order a job
//! meets them:
//! - [`intake`]: reads entries with `XREADGROUP` (and takes over abandoned
//!   ones with `XAUTOCLAIM`).
//! - [`job`]: an entry decoded into a [`job::Job`]; entry ids and cursors.
//! - [`validate`]: the route's validators turn a `Job` into a `Validated`.
//! - [`route`]: the route's router turns a `Validated` into a `Routed`.
//! - [`settle`]: every outcome (routed, rejected, dead letter) as the writes
//!   it needs: a `Settlement`.
//! - [`dispatch`]: performs a settlement atomically: XADD + status + XACK.
//! - [`status`]: the status record a front end reads.
pub mod dispatch;
pub mod intake;
pub mod job;
pub mod route;
pub mod settle;
pub mod status;
pub mod validate;
