//! The traits a plugin implements, and the adapter that connects them to the
//! generated bindings.
//!
//! The traits take `&Job` (a plugin rarely needs to own the job) and have no
//! `self`: every call runs in a fresh instance, so there is no state to keep.

use std::marker::PhantomData;

use crate::bindings::{router, validator};
use crate::{Decision, FieldError, Job};

/// Checks a job's inputs (the `validate` export).
///
/// Export an implementation with [`export_validator!`](crate::export_validator)
/// or, together with [`Router`], [`export_plugin!`](crate::export_plugin).
pub trait Validator {
    /// `Ok(())` if the job is valid; otherwise every error found, not just the
    /// first, each naming its field. An empty list counts as valid.
    fn validate(job: &Job) -> Result<(), Vec<FieldError>>;
}

/// Decides where a valid job goes (the `route` export).
///
/// Export an implementation with [`export_router!`](crate::export_router) or,
/// together with [`Validator`], [`export_plugin!`](crate::export_plugin).
pub trait Router {
    /// Names the target streams for the job, or rejects it with a reason the
    /// user will read.
    fn route(job: &Job) -> Decision;
}

/// Implements the generated `Guest` traits for any [`Validator`] or
/// [`Router`]; the export macros name `Export<YourPlugin>`.
///
/// It is never constructed: the generated code only calls its associated
/// functions.
#[doc(hidden)]
pub struct Export<T>(PhantomData<T>);

impl<T: Validator> validator::exports::switchyard::plugin::validate::Guest for Export<T> {
    fn validate(job: Job) -> Result<(), Vec<FieldError>> {
        T::validate(&job)
    }
}

impl<T: Router> router::exports::switchyard::plugin::route::Guest for Export<T> {
    fn route(job: Job) -> Decision {
        T::route(&job)
    }
}

/// Compiles only if `T` is a [`Validator`]; what [`export_validator!`]
/// expands to on native targets, so a plugin's unit tests still check it.
///
/// [`export_validator!`]: crate::export_validator
#[doc(hidden)]
pub const fn assert_validator<T: Validator>() {}

/// Compiles only if `T` is a [`Router`]; what [`export_router!`] expands to
/// on native targets.
///
/// [`export_router!`]: crate::export_router
#[doc(hidden)]
pub const fn assert_router<T: Router>() {}
