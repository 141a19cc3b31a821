//! The code `wit-bindgen` generates from `wit/plugin.wit`, kept out of sight.
//! The crate's `wit` is a link to the repository's `wit/`, so the packaged
//! crate carries the contract it was built against.
//!
//! Each building-block world of `wit/plugin.wit` (`validates`, `routes`,
//! `prepares`: one export each) gets its own module, and a plugin's export
//! macro expands the blocks of the world it chose: `validator` is
//! `validates` + `prepares`, `router` is `routes` + `prepares`, `plugin` all
//! three. So a plugin exports exactly its world's interfaces, each once
//! (generating the composed worlds would define the same `#[macro_export]`
//! macros twice).
//!
//! The `validates` module owns the shared interfaces (`types`, `host`); the
//! others reuse them through `with:`, so `Job`, `Decision` and the rest are
//! one Rust type each whichever world a plugin exports.
//!
//! `pub_export_macro` makes wit-bindgen embed each world's full description
//! (imports *and* exports) in the custom section that the export macro
//! expands in the plugin crate; the SDK itself only carries the imports, so a
//! plugin never claims an export it does not define.

/// World `validates`: the shared types, the host imports and the `validate`
/// export.
#[allow(missing_docs, unreachable_pub)]
pub mod validates {
    wit_bindgen::generate!({
        path: "wit",
        world: "validates",
        pub_export_macro: true,
        // `Target` and `Decision` are not used by this world, but the other
        // worlds reuse this module's `types` and need them.
        generate_unused_types: true,
    });
}

/// World `routes`: the `route` export, reusing [`validates`]'s types and host
/// imports.
#[allow(missing_docs, unreachable_pub)]
pub mod routes {
    wit_bindgen::generate!({
        path: "wit",
        world: "routes",
        pub_export_macro: true,
        with: {
            "switchyard:plugin/types@0.2.0": crate::bindings::validates::switchyard::plugin::types,
            "switchyard:plugin/host@0.2.0": crate::bindings::validates::switchyard::plugin::host,
        },
    });
}

/// World `prepares`: the `prepare` export, reusing [`validates`]'s host
/// imports.
#[allow(missing_docs, unreachable_pub)]
pub mod prepares {
    wit_bindgen::generate!({
        path: "wit",
        world: "prepares",
        pub_export_macro: true,
        with: {
            "switchyard:plugin/types@0.2.0": crate::bindings::validates::switchyard::plugin::types,
            "switchyard:plugin/host@0.2.0": crate::bindings::validates::switchyard::plugin::host,
        },
    });
}
