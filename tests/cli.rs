//! The command line as an operator meets it: `run --dry-run` on good and
//! bad configs, config from the environment, `--help` with examples and
//! exit codes, the shell completions and man page generated from the CLI,
//! and the progress `send` and `replay` show on a terminal. Only
//! `run --dry-run` needs the built plugins; nothing here starts the daemon.

use std::path::Path;
use std::process::{Command, Output};

use crate::harness::daemon::write_config;
use crate::harness::{RedisServer, switchyard_bin};

/// Runs `switchyard ARGS...` with `env` added to an environment cleared of
/// the variables switchyard reads, so the test's own cannot leak in.
fn switchyard(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(switchyard_bin());
    command.args(args);
    without_switchyard_env(&mut command)
        .envs(env.iter().copied())
        .output()
        .expect("cannot run the switchyard binary")
}

/// `command` with the variables switchyard reads removed from the
/// environment it passes on.
fn without_switchyard_env(command: &mut Command) -> &mut Command {
    for (name, _) in std::env::vars() {
        if name.starts_with("SWITCHYARD_") {
            command.env_remove(name);
        }
    }
    command
}

/// Stdout and stderr of `output`, as text.
fn text(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Connections Redis has accepted since it started.
fn connections(conn: &mut redis::Connection) -> u64 {
    let info: String = redis::cmd("INFO").arg("stats").query(conn).unwrap();
    info.lines()
        .find_map(|line| line.strip_prefix("total_connections_received:"))
        .expect("INFO stats has total_connections_received")
        .trim()
        .parse()
        .unwrap()
}

/// The subcommands `switchyard --help` lists, `help` aside.
fn subcommands() -> Vec<String> {
    let output = switchyard(&["--help"], &[]);
    let (help, _) = text(&output);
    let listed: Vec<String> = help
        .split("Commands:\n")
        .nth(1)
        .expect("--help lists the commands")
        .lines()
        .take_while(|line| line.starts_with("  "))
        .map(|line| line.split_whitespace().next().unwrap().to_owned())
        .filter(|name| name != "help")
        .collect();
    assert!(listed.len() >= 10, "{help}");
    listed
}

#[test]
fn run_dry_run_loads_every_plugin_prints_what_would_run_and_never_touches_redis() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &format!("url = \"{}\"", redis.url()),
        "",
        r#"
[[routes]]
name = "slivka"
source = "jobs"
match = { service = ["clustalo", "mafft"] }
validators = ["slivka-form"]
router = "fasta-size"
targets = ["queue:local", "queue:default"]
rejected = "jobs:rejected"
dead-letters = "jobs:dead"
"#,
    );
    let mut conn = redis.connection();
    let before = connections(&mut conn);

    let output = switchyard(
        &["run", "--config", config.to_str().unwrap(), "--dry-run"],
        &[],
    );
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("valid; 1 route(s), 2 plugin(s) loaded"),
        "{stdout}"
    );
    assert!(
        stdout.contains("slivka: reads jobs where service in [clustalo, mafft]"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "targets [queue:local, queue:default], rejected jobs:rejected, dead letters jobs:dead"
        ),
        "{stdout}"
    );
    for plugin in ["fasta-size@", "slivka-form@"] {
        assert!(stdout.contains(plugin), "{plugin} missing:\n{stdout}");
    }
    assert!(stdout.contains("prepared at load"), "{stdout}");
    assert_eq!(
        connections(&mut conn),
        before,
        "the dry run connected to Redis"
    );
    let keys: u64 = redis::cmd("DBSIZE").query(&mut conn).unwrap();
    assert_eq!(keys, 0);
}

#[test]
fn run_dry_run_refuses_a_bad_config_naming_the_route_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let route = |router: &str, rejected: &str| {
        format!(
            "[[routes]]\nname = \"sizes\"\nsource = \"jobs\"\nrouter = \"{router}\"\n\
             targets = [\"queue:local\"]\nrejected = \"{rejected}\"\ndead-letters = \"jobs:dead\"\n"
        )
    };
    // Nothing listens on port 1: a dry run does not try.
    let redis = "url = \"redis://127.0.0.1:1\"";
    let cases = [
        (
            route("fasta-sise", "jobs:rejected"),
            "route `sizes`: `router` names plugin `fasta-sise`, which does not exist",
        ),
        (
            route("fasta-size", "queue:local"),
            "route `sizes`: `rejected` stream `queue:local` is also a target of route `sizes`",
        ),
        (
            format!(
                "{}{}",
                route("fasta-size", "jobs:rejected"),
                route("fasta-size", "jobs:rejected")
                    .replace("source = \"jobs\"", "source = \"more\"")
            ),
            "route `sizes`: `name` is given twice, by [[routes]] number 1 and by [[routes]] number 2",
        ),
    ];
    for (routes, expected) in cases {
        let config = write_config(dir.path(), redis, "", &routes);
        let output = switchyard(
            &["run", "--config", config.to_str().unwrap(), "--dry-run"],
            &[],
        );
        let (stdout, stderr) = text(&output);
        assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
        assert!(
            stderr.contains(expected),
            "expected {expected:?} in:\n{stderr}"
        );
        assert!(stdout.is_empty(), "{stdout}");
    }
}

#[test]
fn the_config_file_and_its_keys_come_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        "url = \"redis://127.0.0.1:1\"",
        "batch = 10",
        crate::harness::daemon::PUPPET_ROUTE,
    );
    let config = config.to_str().unwrap();
    let output = switchyard(
        &["run", "--dry-run"],
        &[
            ("SWITCHYARD_CONFIG", config),
            ("SWITCHYARD_CONSUMER__BATCH", "50"),
            ("SWITCHYARD_CONSUMER__CLAIM_IDLE", "45s"),
        ],
    );
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.starts_with(&format!("{config}: valid")), "{stdout}");
    assert!(stdout.contains("batch 50, "), "{stdout}");
    assert!(stdout.contains("claim-idle 45s, "), "{stdout}");

    let output = switchyard(
        &["run", "--dry-run"],
        &[
            ("SWITCHYARD_CONFIG", config),
            ("SWITCHYARD_CONSUMER__BATCH", "fifty"),
        ],
    );
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("SWITCHYARD_CONSUMER__BATCH ([consumer] batch = \"fifty\")"),
        "{stderr}"
    );
}

#[test]
fn every_commands_help_gives_examples_and_exit_codes() {
    for command in subcommands() {
        let output = switchyard(&[&command, "--help"], &[]);
        let (help, _) = text(&output);
        assert_eq!(output.status.code(), Some(0), "{command}: {help}");
        assert!(
            help.contains("\nExamples:\n  switchyard "),
            "{command}:\n{help}"
        );
        assert!(help.contains("\nExit codes:\n  0 "), "{command}:\n{help}");
        if help.contains("--config <CONFIG>") {
            assert!(
                help.contains("[env: SWITCHYARD_CONFIG="),
                "{command}:\n{help}"
            );
        }
    }
    let (help, _) = text(&switchyard(&["run", "--help"], &[]));
    assert!(help.contains("--dry-run"), "{help}");
    assert!(help.contains("130"), "{help}");
    let usage = switchyard(&["run", "--no-such-flag"], &[]);
    assert_eq!(usage.status.code(), Some(2));
}

#[test]
fn completions_and_the_man_page_name_every_subcommand() {
    let commands = subcommands();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let output = switchyard(&["completions", shell], &[]);
        let (script, stderr) = text(&output);
        assert_eq!(output.status.code(), Some(0), "{shell}: {stderr}");
        for command in &commands {
            assert!(script.contains(command.as_str()), "{shell}: no {command}");
        }
    }
    let output = switchyard(&["man"], &[]);
    let (page, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(page.starts_with(".ie \\n(.g .ds Aq"), "not roff:\n{page}");
    assert!(page.contains(".TH switchyard 1"), "{page}");
    for command in &commands {
        // roff writes a hyphen as `\-`.
        let name = format!("switchyard-{command}(1)").replace('-', "\\-");
        assert!(page.contains(&name), "man: no {name}");
    }

    let dir = tempfile::tempdir().unwrap();
    let output = switchyard(&["man", "--dir", dir.path().to_str().unwrap()], &[]);
    assert_eq!(output.status.code(), Some(0), "{:?}", text(&output));
    for command in &commands {
        let page = dir.path().join(format!("switchyard-{command}.1"));
        assert!(Path::new(&page).is_file(), "no {}", page.display());
    }
}

/// Runs `switchyard ARGS...` as [`switchyard`] does, but with its stdout
/// and stderr on a terminal (a pty from util-linux `script`); returns what
/// the terminal showed.
fn switchyard_on_a_terminal(args: &[&str]) -> String {
    let mut line = shell_words(switchyard_bin().to_str().unwrap());
    for arg in args {
        line.push(' ');
        line.push_str(&shell_words(arg));
    }
    let output = without_switchyard_env(Command::new("script").args(["-qec", &line, "/dev/null"]))
        .output()
        .expect("cannot run `script` (util-linux) for a terminal");
    assert!(output.status.success(), "{line}: {output:?}");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// `text` quoted for sh.
fn shell_words(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

#[test]
fn send_and_replay_show_progress_on_a_terminal_and_only_their_summary_when_piped() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let jobs = dir.path().join("jobs.ndjson");
    let line = r#"{"service":"clustalo","payload":{"inputs":{"input":">s\nMKV\n"}}}"#;
    std::fs::write(&jobs, format!("{line}\n").repeat(3000)).unwrap();
    let url = redis.url();
    let send = [
        "send",
        "--stream",
        "dead",
        "--redis-url",
        &url,
        jobs.to_str().unwrap(),
    ];

    let shown = switchyard_on_a_terminal(&send);
    assert!(shown.contains("sent 3000 jobs to dead"), "{shown}");
    assert!(
        shown.contains("jobs.ndjson to dead"),
        "no progress shown: {shown}"
    );

    let piped = switchyard(&send, &[]);
    let (stdout, stderr) = text(&piped);
    assert!(piped.status.success(), "{stderr}");
    assert_eq!(stdout, "sent 3000 jobs to dead\n");
    assert!(
        !stderr.contains("jobs.ndjson to dead"),
        "progress drawn into a pipe: {stderr}"
    );

    // Replay the 6000 "dead letters" back onto a stream: the bar counts
    // the letters looked at, out of the stream's length.
    let replay = [
        "replay",
        "--from",
        "dead",
        "--to",
        "jobs",
        "--redis-url",
        &url,
    ];
    let shown = switchyard_on_a_terminal(&replay);
    assert!(shown.contains("replayed 6000"), "{shown}");
    assert!(
        shown.contains("replaying dead"),
        "no progress shown: {shown}"
    );
    assert!(shown.contains("/6000 letters"), "no length shown: {shown}");
}
