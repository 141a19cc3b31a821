//! The code `wit-bindgen` generates from `wit/plugin.wit`, kept out of sight.
//!
//! Each world gets its own module so that a plugin exports exactly the
//! interfaces of the world it chose: the export macro of world `validator`
//! exports only `validate`, the one of world `router` only `route`, and a
//! plugin that does both invokes the two (the union of the two worlds is world
//! `plugin`). Generating world `plugin` here as well would define the same
//! `#[macro_export]` macros twice.
//!
//! The `validator` module owns the shared interfaces (`types`, `host`); the
//! `router` module reuses them through `with:`, so `Job`, `Decision` and the
//! rest are one Rust type each whichever world a plugin exports.
//!
//! `pub_export_macro` makes wit-bindgen embed each world's full description
//! (imports *and* exports) in the custom section that the export macro
//! expands in the plugin crate; the SDK itself only carries the imports, so a
//! plugin never claims an export it does not define.

/// World `validator`: the shared types, the host imports and the `validate`
/// export.
#[allow(missing_docs, unreachable_pub)]
pub mod validator {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "validator",
        pub_export_macro: true,
        // `Target` and `Decision` are not used by this world, but the router
        // world reuses this module's `types` and needs them.
        generate_unused_types: true,
    });
}

/// World `router`: the `route` export, reusing [`validator`]'s types and host
/// imports.
#[allow(missing_docs, unreachable_pub)]
pub mod router {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "router",
        pub_export_macro: true,
        with: {
            "switchyard:plugin/types@0.1.0": crate::bindings::validator::switchyard::plugin::types,
            "switchyard:plugin/host@0.1.0": crate::bindings::validator::switchyard::plugin::host,
        },
    });
}
