//! `switchyard new validator|router NAME`: a plugin crate a new author can
//! build, test, check and try at once, outside any workspace.
//!
//! The crate (templates in `scaffold/`): a `Cargo.toml` (a `cdylib`, the
//! SDK by version with a `path` to this checkout's SDK, the size-optimised
//! release profile, a workspace of its own), `src/lib.rs` (a working rule
//! with native unit tests through `switchyard_plugin::testing`), a sample
//! job, a `.gitignore` and a README with the commands to build, check and
//! try it.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// Which world the plugin exports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// A validator: accepts a job or refuses it field by field.
    Validator,
    /// A router: chooses the streams a job goes to, or rejects it.
    Router,
}

/// Where this build of switchyard found the SDK: the checkout it was built
/// from. A binary installed elsewhere may not have it (then `--sdk`).
fn built_sdk() -> Option<PathBuf> {
    let sdk = Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/switchyard-plugin");
    sdk.join("Cargo.toml").is_file().then(|| {
        std::path::absolute(&sdk)
            .map(|p| normalize(&p))
            .unwrap_or(sdk)
    })
}

/// `path` with its `..` components folded (no symlinks resolved).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// Writes the crate `NAME` of `kind` into `dir/NAME` (which must not exist),
/// its SDK dependency at `sdk` (default: this checkout's), and says what to
/// run next.
pub fn run(kind: Kind, name: &str, dir: &Path, sdk: Option<PathBuf>) -> anyhow::Result<()> {
    let valid = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !valid {
        bail!(
            "new {name}: a plugin name is a crate name: ASCII letters, digits, `-` and `_`, starting with a letter"
        );
    }
    let root = dir.join(name);
    if root.exists() {
        bail!(
            "new {name}: {} exists already; choose another name or --dir",
            root.display()
        );
    }
    let sdk = match sdk.or_else(built_sdk) {
        Some(sdk) => {
            let sdk = std::path::absolute(&sdk).unwrap_or(sdk);
            if !sdk.join("Cargo.toml").is_file() {
                bail!(
                    "new {name}: --sdk {}: no Cargo.toml there (give the switchyard-plugin crate's folder)",
                    sdk.display()
                );
            }
            Some(sdk)
        }
        None => None,
    };
    let dependency = match &sdk {
        Some(sdk) => format!("path = {}", toml_string(&sdk.display().to_string())),
        None => "# path = \"/path/to/switchyard/plugins/switchyard-plugin\"".to_owned(),
    };
    let crate_name = name.replace('-', "_");
    let (kind_name, lib, config) = match kind {
        Kind::Validator => (
            "validator",
            include_str!("scaffold/validator.rs.in"),
            "max-input-bytes = 1000000",
        ),
        Kind::Router => (
            "router",
            include_str!("scaffold/router.rs.in"),
            "small-target = \"queue:local\"\nlarge-target = \"queue:cluster\"\nmax-small-bytes = 10000",
        ),
    };
    let fill = |template: &str| {
        template
            .replace("{{name}}", name)
            .replace("{{crate}}", &crate_name)
            .replace("{{kind}}", kind_name)
            .replace("{{sdk}}", &dependency)
            .replace("{{config}}", config)
    };
    let files = [
        ("Cargo.toml", fill(include_str!("scaffold/Cargo.toml.in"))),
        ("src/lib.rs", fill(lib)),
        (
            "jobs/sample.json",
            fill(include_str!("scaffold/sample.json.in")),
        ),
        ("README.md", fill(include_str!("scaffold/README.md.in"))),
        (".gitignore", fill(include_str!("scaffold/gitignore.in"))),
    ];
    for (file, text) in files {
        let path = root.join(file);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("new {name}: cannot create {}", parent.display()))?;
        }
        std::fs::write(&path, text)
            .with_context(|| format!("new {name}: cannot write {}", path.display()))?;
    }
    println!("created {kind_name} plugin {name} in {}", root.display());
    if sdk.is_none() {
        println!(
            "note: this switchyard does not know where the SDK is: set the switchyard-plugin \
             dependency's path (or git) in {}/Cargo.toml, or run again with --sdk DIR",
            root.display()
        );
    }
    println!("next:");
    println!("  cd {}", root.display());
    println!("  cargo test");
    println!("  cargo build --target wasm32-wasip2 --release");
    println!("  switchyard check target/wasm32-wasip2/release/{crate_name}.wasm");
    println!("  switchyard try target/wasm32-wasip2/release/{crate_name}.wasm jobs/sample.json");
    Ok(())
}

/// `text` as a TOML basic string.
fn toml_string(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}
