//! `[slivka]`: a directory of slivka service files, made into one route per
//! service and into the config of the plugins that serve them.
//!
//! A slivka deployment already describes its services, one
//! `ID.service.yaml` file each; listing them again as `[[routes]]` and
//! `config-files` would be a second copy to keep in step. So the section
//! names the directory, and each service file becomes:
//! - a route `slivka/ID` reading `source`, matching entries whose `service`
//!   field is `ID`, through `validators` and `router`, whose targets are
//!   `target-pattern` with `{service}` = `ID` and `{runner}` = each key of the
//!   file's `execution.runners`, in the file's order;
//! - config `service.ID` = the file's text, and `target-pattern`, for each
//!   plugin the section names, unless the plugin's own table sets that key.
//!   The file is the value's source: a plugin refusing it names the file,
//!   and an edit of it reloads.
//!
//! File names follow slivka's own loader (`slivka/conf/loaders.py`): a file
//! of the directory whose whole name matches
//! `([a-zA-Z0-9_\-.]+)\.service\.ya?ml` is a service, the group its id;
//! other files are ignored. The host reads only what routing needs
//! (`execution.runners`); the rest of the file is the plugins' to check.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use yaml_rust2::{Yaml, YamlLoader};

use super::defaults::{DEFAULT_SLIVKA_ROUTER, DEFAULT_SLIVKA_VALIDATORS, DEFAULT_TARGET_PATTERN};
use super::file::{Base, MatchValue, RouteSection, SlivkaSection};
use super::settings::PluginConfig;

/// The field of a job entry that names its service, as slivka-form reads it.
const SERVICE_FIELD: &str = "service";

/// The id of a service file called `name`, or `None` if `name` is not a
/// service file's: what slivka's pattern
/// `([a-zA-Z0-9_\-.]+)\.service\.ya?ml$` captures of a whole file name.
pub fn service_id(name: &str) -> Option<&str> {
    let id = name
        .strip_suffix(".service.yaml")
        .or_else(|| name.strip_suffix(".service.yml"))?;
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
    (!id.is_empty() && id.chars().all(allowed)).then_some(id)
}

/// One service file, read.
#[derive(Debug)]
struct Service {
    /// Its id, from its file name.
    id: String,
    /// The file, as the config names it (resolved against the config's
    /// directory).
    file: PathBuf,
    /// Its whole text: what the plugins get as `service.ID`.
    text: String,
    /// The keys of its `execution.runners`, in the file's order; at least one.
    runners: Vec<String>,
}

/// `[slivka]` with its directory read.
#[derive(Debug)]
pub(super) struct Slivka {
    /// The services directory, resolved.
    pub dir: PathBuf,
    /// The stream every service's route reads.
    source: String,
    /// Validator plugins of every service's route.
    validators: Vec<String>,
    /// Router plugin of every service's route.
    router: String,
    /// Shadow router of every service's route.
    shadow: Option<String>,
    /// A runner's stream, before substitution.
    pattern: String,
    /// Where invalid and refused jobs go.
    rejected: String,
    /// Where jobs that could not be handled go.
    dead_letters: String,
    /// The service files, by id order.
    services: Vec<Service>,
}

impl Slivka {
    /// Reads `section`'s directory: every service file, parsed. Errors name
    /// the directory or the file.
    pub(super) fn read(section: SlivkaSection, base: &Base) -> Result<Slivka, String> {
        let dir = base.resolve(&section.services);
        let listing = std::fs::read_dir(&dir).map_err(|e| {
            format!(
                "[slivka] services: cannot read the directory {}: {e}",
                dir.display()
            )
        })?;
        let mut files: BTreeMap<String, PathBuf> = BTreeMap::new();
        for entry in listing {
            let entry = entry.map_err(|e| format!("[slivka] services: {}: {e}", dir.display()))?;
            let name = entry.file_name();
            let Some(id) = name.to_str().and_then(service_id) else {
                continue;
            };
            let file = entry.path();
            if !file.is_file() {
                continue;
            }
            if let Some(other) = files.insert(id.to_owned(), file.clone()) {
                return Err(format!(
                    "[slivka] two files define service `{id}`: {} and {}",
                    other.display(),
                    file.display()
                ));
            }
        }
        let services = files
            .into_iter()
            .map(|(id, file)| read_service(id, file))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Slivka {
            dir,
            source: section.source,
            validators: section.validators.unwrap_or_else(|| {
                DEFAULT_SLIVKA_VALIDATORS
                    .iter()
                    .map(|v| v.to_string())
                    .collect()
            }),
            router: section
                .router
                .unwrap_or_else(|| DEFAULT_SLIVKA_ROUTER.to_owned()),
            shadow: section.shadow,
            pattern: section
                .target_pattern
                .unwrap_or_else(|| DEFAULT_TARGET_PATTERN.to_owned()),
            rejected: section.rejected,
            dead_letters: section.dead_letters,
            services,
        })
    }

    /// One route per service, as if written as `[[routes]]`, in id order.
    pub(super) fn routes(&self) -> Vec<RouteSection> {
        self.services
            .iter()
            .map(|service| {
                let mut targets: Vec<String> = Vec::new();
                for runner in &service.runners {
                    let target = self
                        .pattern
                        .replace("{service}", &service.id)
                        .replace("{runner}", runner);
                    if !targets.contains(&target) {
                        targets.push(target);
                    }
                }
                RouteSection {
                    name: Some(format!("slivka/{}", service.id)),
                    source: self.source.clone(),
                    matches: BTreeMap::from([(
                        SERVICE_FIELD.to_owned(),
                        MatchValue::One(service.id.clone()),
                    )]),
                    validators: self.validators.clone(),
                    router: self.router.clone(),
                    shadow: self.shadow.clone(),
                    targets,
                    rejected: self.rejected.clone(),
                    dead_letters: self.dead_letters.clone(),
                }
            })
            .collect()
    }

    /// Gives each plugin the section names `service.ID` (read from the
    /// service file, which becomes the value's source and a watched config
    /// file) and `target-pattern`, unless its own table sets the key.
    /// Plugins that no route uses (no service files) are left alone.
    pub(super) fn configure(&self, plugins: &mut BTreeMap<String, PluginConfig>) {
        for name in self.validators.iter().chain([&self.router]) {
            let Some(plugin) = plugins.get_mut(name) else {
                continue;
            };
            let settings = &mut plugin.settings;
            for service in &self.services {
                let key = format!("service.{}", service.id);
                if settings.config.contains_key(&key) {
                    continue;
                }
                settings.config.insert(key.clone(), service.text.clone());
                settings.config_sources.insert(key, service.file.clone());
                if !plugin.config_files.contains(&service.file) {
                    plugin.config_files.push(service.file.clone());
                }
            }
            settings
                .config
                .entry("target-pattern".to_owned())
                .or_insert_with(|| self.pattern.clone());
        }
    }
}

/// Reads and parses one service file: its runners are all the host needs.
fn read_service(id: String, file: PathBuf) -> Result<Service, String> {
    let bad = |reason: String| format!("[slivka] service file {}: {reason}", file.display());
    let text = std::fs::read_to_string(&file).map_err(|e| bad(format!("cannot read: {e}")))?;
    let runners = runners(&text).map_err(bad)?;
    Ok(Service {
        id,
        file,
        text,
        runners,
    })
}

/// The keys of `execution.runners` in the YAML `text`, in order.
fn runners(text: &str) -> Result<Vec<String>, String> {
    let documents = YamlLoader::load_from_str(text).map_err(|e| format!("not YAML: {e}"))?;
    let [document] = documents.as_slice() else {
        return Err(format!(
            "holds {} YAML documents, not one service",
            documents.len()
        ));
    };
    let runners = match &document["execution"]["runners"] {
        Yaml::Hash(runners) => runners,
        Yaml::BadValue => return Err("has no `execution.runners`".into()),
        _ => return Err("its `execution.runners` is not a mapping of runner names".into()),
    };
    let names: Vec<String> = runners
        .keys()
        .map(|key| match key {
            Yaml::String(name) => Ok(name.clone()),
            Yaml::Integer(n) => Ok(n.to_string()),
            other => Err(format!(
                "a key of `execution.runners` is not a runner name: {other:?}"
            )),
        })
        .collect::<Result<_, _>>()?;
    if names.is_empty() {
        return Err("its `execution.runners` is empty: jobs would have nowhere to go".into());
    }
    Ok(names)
}

/// Whether `path` is a service file of the directory `dir`: what the
/// reloader watches for in a services directory.
pub fn is_service_file(dir: &Path, path: &Path) -> bool {
    path.parent() == Some(dir)
        && path
            .file_name()
            .and_then(|name| name.to_str())
            .and_then(service_id)
            .is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_file_name_gives_its_id_as_slivkas_pattern_does() {
        assert_eq!(service_id("clustalo.service.yaml"), Some("clustalo"));
        assert_eq!(service_id("mafft.service.yml"), Some("mafft"));
        assert_eq!(service_id("x.y-z_1.service.yaml"), Some("x.y-z_1"));
        assert_eq!(service_id("a.service.service.yaml"), Some("a.service"));
        assert_eq!(service_id(".service.yaml"), None);
        assert_eq!(service_id("clustalo.yaml"), None);
        assert_eq!(service_id("clustalo.service.yaml.bak"), None);
        assert_eq!(service_id("bad name.service.yaml"), None);
        assert_eq!(service_id("é.service.yaml"), None);
    }

    #[test]
    fn runners_are_the_keys_of_execution_runners_in_file_order() {
        let text = "slivka-version: 0.8.5b5\nexecution:\n  runners:\n    local:\n      type: ShellRunner\n    default:\n      type: SlivkaQueueRunner\n";
        assert_eq!(runners(text).unwrap(), ["local", "default"]);
    }

    #[test]
    fn a_file_without_runners_or_not_yaml_is_refused_saying_why() {
        assert!(
            runners("execution: {}\n")
                .unwrap_err()
                .contains("no `execution.runners`")
        );
        assert!(
            runners("execution:\n  runners: [a, b]\n")
                .unwrap_err()
                .contains("not a mapping")
        );
        assert!(
            runners("execution:\n  runners: {}\n")
                .unwrap_err()
                .contains("empty")
        );
        assert!(
            runners("execution: [\n")
                .unwrap_err()
                .starts_with("not YAML: ")
        );
    }

    /// A config with `[slivka]` over `dir`, one `[[routes]]` beside it and
    /// `extra` appended.
    fn config(dir: &Path, extra: &str) -> String {
        format!(
            r#"
[redis]
url = "redis://127.0.0.1:1"
[[routes]]
name = "other"
source = "jobs"
match = {{ service = "other" }}
router = "fasta-size"
targets = ["queue:other"]
rejected = "jobs:rejected"
dead-letters = "jobs:dead"
[slivka]
services = "{}"
source = "jobs"
target-pattern = "queue:{{service}}:{{runner}}"
rejected = "jobs:rejected"
dead-letters = "jobs:dead"
{extra}"#,
            dir.display()
        )
    }

    const CLUSTALO: &str = "execution:\n  runners:\n    local: {}\n    default: {}\n";
    const MAFFT: &str = "execution:\n  runners:\n    default: {}\n";

    #[test]
    fn each_service_file_becomes_a_route_after_the_routes_and_config_for_its_plugins() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("clustalo.service.yaml"), CLUSTALO).unwrap();
        std::fs::write(dir.path().join("mafft.service.yml"), MAFFT).unwrap();
        std::fs::write(dir.path().join("notes.txt"), "not a service").unwrap();
        let extra = "[plugin.fasta-size.config]\n\"service.mafft\" = \"own\"\n";
        let text = config(dir.path(), extra);
        let s = crate::config::Settings::parse(Path::new("s.toml"), &text, None, None).unwrap();
        let names: Vec<&str> = s.routes.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["other", "slivka/clustalo", "slivka/mafft"]);
        let clustalo = &s.routes[1];
        assert_eq!(
            clustalo.targets,
            ["queue:clustalo:local", "queue:clustalo:default"]
        );
        assert_eq!(clustalo.validators, ["slivka-form"]);
        assert_eq!(clustalo.router, "fasta-size");
        assert!(clustalo.matches(|f| (f == "service").then(|| "clustalo".into())));
        assert!(!clustalo.matches(|f| (f == "service").then(|| "mafft".into())));
        assert_eq!(s.routes[2].targets, ["queue:mafft:default"]);
        assert_eq!(s.slivka_services.as_deref(), Some(dir.path()));

        let form = &s.plugins["slivka-form"];
        let file = dir.path().join("clustalo.service.yaml");
        assert_eq!(form.settings.config["service.clustalo"], CLUSTALO);
        assert_eq!(form.settings.config_sources["service.clustalo"], file);
        assert_eq!(
            form.settings.config["target-pattern"],
            "queue:{service}:{runner}"
        );
        assert!(form.config_files.contains(&file));
        // The plugin's own table wins, and its value has no file.
        let router = &s.plugins["fasta-size"];
        assert_eq!(router.settings.config["service.mafft"], "own");
        assert!(!router.settings.config_sources.contains_key("service.mafft"));
        assert_eq!(router.settings.config["service.clustalo"], CLUSTALO);
    }

    #[test]
    fn a_service_file_that_does_not_parse_is_refused_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("broken.service.yaml"), "execution: [\n").unwrap();
        let text = config(dir.path(), "");
        let error = crate::config::Settings::parse(Path::new("s.toml"), &text, None, None)
            .unwrap_err()
            .to_string();
        let file = dir.path().join("broken.service.yaml");
        assert!(
            error.starts_with(&format!(
                "s.toml: [slivka] service file {}: not YAML: ",
                file.display()
            )),
            "{error}"
        );
    }

    #[test]
    fn a_service_route_is_checked_as_any_route() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("loop.service.yaml"), MAFFT).unwrap();
        // `jobs` is a target of the service's route and the source of both.
        let text = config(dir.path(), "").replace("queue:{service}:{runner}", "jobs");
        let error = crate::config::Settings::parse(Path::new("s.toml"), &text, None, None)
            .unwrap_err()
            .to_string();
        assert!(error.contains("route `slivka/loop`"), "{error}");
    }
}
