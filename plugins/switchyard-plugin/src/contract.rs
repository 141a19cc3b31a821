//! The traits a plugin implements, and the adapter that connects them to the
//! generated bindings.
//!
//! The traits take `&Job` (a plugin rarely needs to own the job) and have no
//! `self`: every call runs in a fresh instance (or, with `isolation =
//! "batch"`, an instance fresh for its batch), so there is no state to keep
//! between jobs. State every job needs (a parsed config) is built once, in
//! `prepare`, and kept in a static (`std::sync::OnceLock`): the host keeps the
//! memory `prepare` leaves as every instance's starting point.
//!
//! `prepare` is also where a plugin refuses a config it cannot work with:
//! returning [`ConfigError`] fails the plugin's load, with an error that
//! names the key and the file its value came from.

use std::marker::PhantomData;

use crate::bindings::validates::switchyard::plugin::types::ConfigError as WitConfigError;
use crate::bindings::{prepares, routes, validates};
use crate::{ConfigError, Decision, FieldError, Job};

/// Checks a job's inputs (the `validate` export).
///
/// Export an implementation with [`export_validator!`](crate::export_validator)
/// or, together with [`Router`], [`export_plugin!`](crate::export_plugin).
pub trait Validator {
    /// `Ok(())` if the job is valid; otherwise every error found, not just the
    /// first, each naming its field. An empty list counts as valid.
    fn validate(job: &Job) -> Result<(), Vec<FieldError>>;

    /// Work done once, at load, whose result every job starts with (see the
    /// module doc). It may read the config and log; it must not print or
    /// open files (the plugin is refused). Does nothing unless overridden.
    ///
    /// `Err` refuses the config: switchyard does not load the plugin and
    /// shows the error with the plugin's name and the file the key's value
    /// came from. Return it rather than panic, which says only that
    /// `prepare` failed.
    ///
    /// ```
    /// # use switchyard_plugin::{config, ConfigError, FieldError, Job, Validator};
    /// struct Limited;
    ///
    /// impl Validator for Limited {
    ///     fn prepare() -> Result<(), ConfigError> {
    ///         let max: u32 = config::get_parsed("max-length", 100)?;
    ///         if max == 0 {
    ///             return Err(ConfigError::for_key("max-length", "must be at least 1"));
    ///         }
    ///         Ok(())
    ///     }
    ///
    ///     fn validate(_job: &Job) -> Result<(), Vec<FieldError>> {
    ///         Ok(())
    ///     }
    /// }
    /// ```
    fn prepare() -> Result<(), ConfigError> {
        Ok(())
    }
}

/// Decides where a valid job goes (the `route` export).
///
/// Export an implementation with [`export_router!`](crate::export_router) or,
/// together with [`Validator`], [`export_plugin!`](crate::export_plugin).
pub trait Router {
    /// Names the target streams for the job, or rejects it with a reason the
    /// user will read.
    fn route(job: &Job) -> Decision;

    /// As [`Validator::prepare`]. A plugin that is both runs the validator's
    /// `prepare`, then the router's (unless the validator's refused).
    fn prepare() -> Result<(), ConfigError> {
        Ok(())
    }
}

/// Implements the generated `validate` and `route` `Guest` traits for any
/// [`Validator`] or [`Router`]; the export macros name `Export<YourPlugin>`.
///
/// It is never constructed: the generated code only calls its associated
/// functions.
#[doc(hidden)]
pub struct Export<T>(PhantomData<T>);

impl<T: Validator> validates::exports::switchyard::plugin::validate::Guest for Export<T> {
    fn validate(job: Job) -> Result<(), Vec<FieldError>> {
        T::validate(&job)
    }
}

impl<T: Router> routes::exports::switchyard::plugin::route::Guest for Export<T> {
    fn route(job: Job) -> Decision {
        T::route(&job)
    }
}

/// The `prepare` export of a validator: [`Validator::prepare`]. One wrapper
/// per world, because which `prepare`s run depends on the traits `T`
/// implements.
#[doc(hidden)]
pub struct PrepareValidator<T>(PhantomData<T>);

impl<T: Validator> prepares::exports::switchyard::plugin::prepare::Guest for PrepareValidator<T> {
    fn prepare() -> Result<(), WitConfigError> {
        <T as Validator>::prepare().map_err(Into::into)
    }
}

/// The `prepare` export of a router: [`Router::prepare`].
#[doc(hidden)]
pub struct PrepareRouter<T>(PhantomData<T>);

impl<T: Router> prepares::exports::switchyard::plugin::prepare::Guest for PrepareRouter<T> {
    fn prepare() -> Result<(), WitConfigError> {
        <T as Router>::prepare().map_err(Into::into)
    }
}

/// The `prepare` export of a plugin that is both: the validator's, then the
/// router's.
#[doc(hidden)]
pub struct PreparePlugin<T>(PhantomData<T>);

impl<T: Validator + Router> prepares::exports::switchyard::plugin::prepare::Guest
    for PreparePlugin<T>
{
    fn prepare() -> Result<(), WitConfigError> {
        <T as Validator>::prepare()?;
        <T as Router>::prepare()?;
        Ok(())
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

/// Compiles only if `T` is both; what [`export_plugin!`] expands to on
/// native targets.
///
/// [`export_plugin!`]: crate::export_plugin
#[doc(hidden)]
pub const fn assert_plugin<T: Validator + Router>() {}
