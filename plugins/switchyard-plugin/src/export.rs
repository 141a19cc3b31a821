//! The macros that make a type the component's exports.
//!
//! Each expands, in the plugin crate, to the `extern "C"` functions the
//! component model calls and to the custom section that describes the world;
//! `wasm-tools`/`wit-component` turn that into the component's type. Use
//! exactly one of them per plugin crate.
//!
//! On other targets (native unit tests) they only check that the type
//! implements the trait: the export names (`switchyard:plugin/...#validate`)
//! are not valid native symbols, and a native build has no host to call.

/// Exports `$plugin` (a [`Validator`](crate::Validator)) as world `validator`:
/// the component exports `switchyard:plugin/validate` and
/// `switchyard:plugin/prepare`.
///
/// ```
/// # use switchyard_plugin::{FieldError, Job, Validator};
/// struct AlwaysValid;
///
/// impl Validator for AlwaysValid {
///     fn validate(_job: &Job) -> Result<(), Vec<FieldError>> {
///         Ok(())
///     }
/// }
///
/// switchyard_plugin::export_validator!(AlwaysValid);
/// ```
#[macro_export]
macro_rules! export_validator {
    ($plugin:ty) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            type __SwitchyardValidate = $crate::__private::Export<$plugin>;
            $crate::__private::validates::export!(
                __SwitchyardValidate with_types_in $crate::__private::validates
            );
            type __SwitchyardPrepare = $crate::__private::PrepareValidator<$plugin>;
            $crate::__private::prepares::export!(
                __SwitchyardPrepare with_types_in $crate::__private::prepares
            );
        };
        #[cfg(not(target_arch = "wasm32"))]
        const _: () = $crate::__private::assert_validator::<$plugin>();
    };
}

/// Exports `$plugin` (a [`Router`](crate::Router)) as world `router`: the
/// component exports `switchyard:plugin/route` and `switchyard:plugin/prepare`.
///
/// ```
/// # use switchyard_plugin::{Decision, Job, Router, Target};
/// struct Local;
///
/// impl Router for Local {
///     fn route(_job: &Job) -> Decision {
///         Decision::dispatch(Target::new("queue:local"))
///     }
/// }
///
/// switchyard_plugin::export_router!(Local);
/// ```
#[macro_export]
macro_rules! export_router {
    ($plugin:ty) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            type __SwitchyardRoute = $crate::__private::Export<$plugin>;
            $crate::__private::routes::export!(
                __SwitchyardRoute with_types_in $crate::__private::routes
            );
            type __SwitchyardPrepare = $crate::__private::PrepareRouter<$plugin>;
            $crate::__private::prepares::export!(
                __SwitchyardPrepare with_types_in $crate::__private::prepares
            );
        };
        #[cfg(not(target_arch = "wasm32"))]
        const _: () = $crate::__private::assert_router::<$plugin>();
    };
}

/// Exports `$plugin` (both a [`Validator`](crate::Validator) and a
/// [`Router`](crate::Router)) as world `plugin`: the component exports
/// `switchyard:plugin/validate`, `switchyard:plugin/route` and
/// `switchyard:plugin/prepare`.
///
/// ```
/// # use switchyard_plugin::{Decision, FieldError, Job, Router, Target, Validator};
/// struct Both;
///
/// impl Validator for Both {
///     fn validate(_job: &Job) -> Result<(), Vec<FieldError>> {
///         Ok(())
///     }
/// }
///
/// impl Router for Both {
///     fn route(_job: &Job) -> Decision {
///         Decision::reject("no runner today")
///     }
/// }
///
/// switchyard_plugin::export_plugin!(Both);
/// ```
#[macro_export]
macro_rules! export_plugin {
    ($plugin:ty) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            type __SwitchyardExport = $crate::__private::Export<$plugin>;
            $crate::__private::validates::export!(
                __SwitchyardExport with_types_in $crate::__private::validates
            );
            $crate::__private::routes::export!(
                __SwitchyardExport with_types_in $crate::__private::routes
            );
            type __SwitchyardPrepare = $crate::__private::PreparePlugin<$plugin>;
            $crate::__private::prepares::export!(
                __SwitchyardPrepare with_types_in $crate::__private::prepares
            );
        };
        #[cfg(not(target_arch = "wasm32"))]
        const _: () = $crate::__private::assert_plugin::<$plugin>();
    };
}
