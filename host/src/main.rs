//! The `switchyard` command line: parses the flags and calls the command,
//! a function of [`switchyard::cli`] (or [`switchyard::daemon::run`]) that
//! takes the parsed values. Errors are printed once, with their causes, at
//! this edge.
//!
//! Every command's `--help` ends with examples and its exit codes; the
//! shell completions (`switchyard completions SHELL`) and the man page
//! (`switchyard man`) are generated from the same definitions, so none of
//! them can drift from the flags.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{CommandFactory, Parser, Subcommand};
use switchyard::cli::{archive, diff, dry_run, replay, scaffold, send, status, trial};
use switchyard::retention::archive::Query;

/// The exit codes every command but `run`, `check` and `try` has.
macro_rules! exit_codes {
    () => {
        "Exit codes:\n  0    done\n  1    an error, printed on stderr with its causes\n  \
         2    a usage error: an unknown flag, a missing or bad argument"
    };
}

/// Routes job requests from Redis streams through sandboxed WebAssembly
/// plugins that validate each job and choose the runner queue it goes to.
#[derive(Parser)]
#[command(
    name = "switchyard",
    version,
    about,
    after_help = concat!(
        "Examples:\n",
        "  switchyard run --config /etc/switchyard/switchyard.toml\n",
        "  switchyard run --config switchyard.toml --dry-run     # check a config and its plugins\n",
        "  switchyard status --config /etc/switchyard/switchyard.toml\n",
        "  switchyard completions bash > /etc/bash_completion.d/switchyard\n",
        "  switchyard man > /usr/local/share/man/man1/switchyard.1\n",
        "\n",
        "Environment:\n",
        "  SWITCHYARD_CONFIG           the config file of every command that takes --config\n",
        "  SWITCHYARD_REDIS_URL        --redis-url\n",
        "  SWITCHYARD_CONSUMER         run's --consumer\n",
        "  SWITCHYARD_<TABLE>__<KEY>   a config key over the file's: SWITCHYARD_CONSUMER__BATCH=50\n",
        "                              is [consumer] batch = 50 (see the README, \"Configuration\")\n",
        "\n",
        exit_codes!(),
        "\n  130  run: a second SIGINT or SIGTERM; it exits at once, unfinished entries stay pending",
    )
)]
struct Cli {
    /// Log format: `text` for people, `json` for log collectors.
    #[arg(long, global = true, default_value = "text", value_parser = ["text", "json"])]
    log_format: String,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Say which worlds a plugin component satisfies (validator, router, plugin).
    #[command(after_help = concat!(
        "Examples:\n",
        "  switchyard check target/plugins/fasta-size.wasm\n",
        "  switchyard check fasta-size.wasm --config tiers=@tiers.json\n",
        "\n",
        "To check a whole routing config and all its plugins: switchyard run --config FILE --dry-run\n",
        "\n",
        "Exit codes:\n  0  the plugin loads\n  1  it does not (the reason is printed)\n  ",
        "2  a usage error, or the plugin runtime cannot start",
    ))]
    Check {
        /// The plugin's `.wasm` file.
        plugin: PathBuf,
        /// A config value its `prepare` reads, `KEY=VALUE` or `KEY=@FILE`;
        /// repeatable. A config it refuses fails the check.
        #[arg(long = "config", value_name = "KEY=VALUE")]
        config: Vec<String>,
    },
    /// Run a plugin on one job without Redis and print its answer as JSON.
    #[command(after_help = concat!(
        "Examples:\n",
        "  switchyard try slivka-form.wasm --config service.clustalo=@clustalo.service.yaml job.json\n",
        "  switchyard try fasta-size.wasm --config tiers=@tiers.json --allow queue:local < job.json\n",
        "  switchyard try fasta-size.wasm --config tiers=@tiers.json jobs.jsonl   # one answer line per job\n",
        "\n",
        "Exit codes:\n  0  the plugin answered (its decision is printed as JSON)\n  ",
        "1  the plugin failed on the job, or on any job of JSON lines (the failure is printed as JSON)\n  ",
        "2  it could not get that far: a usage error, a plugin that does not load, an unreadable job",
    ))]
    Try {
        /// The plugin's `.wasm` file.
        plugin: PathBuf,
        /// A config value for the plugin, `KEY=VALUE` or `KEY=@FILE`; repeatable.
        #[arg(long = "config", value_name = "KEY=VALUE")]
        config: Vec<String>,
        /// A target the router may choose; repeatable. Without it any target is accepted.
        #[arg(long = "allow", value_name = "STREAM")]
        allow: Vec<String>,
        /// Deadline for each call, in milliseconds.
        #[arg(long)]
        deadline_ms: Option<u64>,
        /// Memory limit, in MiB.
        #[arg(long)]
        memory_mib: Option<usize>,
        /// The job: a JSON object of entry fields, or JSON lines of jobs (one answer line
        /// per job); `-` or nothing reads stdin.
        job: Option<PathBuf>,
    },
    /// Create a plugin crate, ready to build, test, check and try.
    #[command(after_help = concat!(
        "Examples:\n",
        "  switchyard new router size-router\n",
        "  switchyard new validator my-form --dir ~/plugins --sdk ~/src/switchyard/plugins/switchyard-plugin\n",
        "\n",
        exit_codes!(),
    ))]
    New {
        /// A validator (accepts or refuses a job) or a router (chooses where it goes).
        kind: scaffold::Kind,
        /// The plugin's name, which is its crate's name.
        name: String,
        /// The folder to create the crate in.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// The switchyard-plugin SDK crate's folder (default: this build's checkout).
        #[arg(long)]
        sdk: Option<PathBuf>,
    },
    /// Run two versions of a plugin on real jobs and show which jobs change verdict or destination.
    #[command(after_help = concat!(
        "Examples:\n",
        "  switchyard diff old/fasta-size.wasm new/fasta-size.wasm --config tiers=@tiers.json --jobs jobs.jsonl\n",
        "  switchyard diff fasta-size.wasm fasta-size.wasm --old-config tiers=@old.json --new-config tiers=@new.json \\\n",
        "      --stream jobs --count 10000 --redis-url redis://127.0.0.1:6379\n",
        "  switchyard diff old.wasm new.wasm --archive /var/lib/switchyard/archive --archive-stream jobs --json\n",
        "\n",
        "Exit codes:\n  0  no job changes\n  1  some jobs change (listed, grouped)\n  ",
        "2  it could not run: a usage error, a plugin that does not load, no jobs",
    ))]
    Diff {
        /// The version running now.
        old: PathBuf,
        /// The version to swap in.
        new: PathBuf,
        /// A config value for both versions, `KEY=VALUE` or `KEY=@FILE`; repeatable.
        #[arg(long = "config", value_name = "KEY=VALUE")]
        config: Vec<String>,
        /// A config value for the old version only (over --config); repeatable.
        #[arg(long = "old-config", value_name = "KEY=VALUE")]
        old_config: Vec<String>,
        /// A config value for the new version only (over --config); repeatable.
        #[arg(long = "new-config", value_name = "KEY=VALUE")]
        new_config: Vec<String>,
        /// A target the routers may choose; repeatable. Without it any target is accepted.
        #[arg(long = "allow", value_name = "STREAM")]
        allow: Vec<String>,
        /// The jobs: a JSON-lines file (one JSON object of fields per line).
        #[arg(long, conflicts_with_all = ["stream", "archive"])]
        jobs: Option<PathBuf>,
        /// The jobs: the latest --count entries of this stream.
        #[arg(long, conflicts_with = "archive")]
        stream: Option<String>,
        /// How many of the stream's latest entries.
        #[arg(long, default_value_t = 1000, requires = "stream")]
        count: usize,
        /// The Redis URL for --stream.
        #[arg(long, env = "SWITCHYARD_REDIS_URL")]
        redis_url: Option<String>,
        /// A routing config to take the Redis URL from, for --stream.
        #[arg(long = "routing", env = "SWITCHYARD_CONFIG", value_name = "FILE")]
        routing: Option<PathBuf>,
        /// The jobs: the entries retention archived in this directory.
        #[arg(long)]
        archive: Option<PathBuf>,
        /// Only the archived entries of this stream.
        #[arg(long, requires = "archive")]
        archive_stream: Option<String>,
        /// Print JSON for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Run the router daemon.
    #[command(after_help = concat!(
        "Examples:\n",
        "  switchyard run --config /etc/switchyard/switchyard.toml\n",
        "  switchyard run --config switchyard.toml --dry-run\n",
        "  SWITCHYARD_CONSUMER__BATCH=64 switchyard run --config switchyard.toml --consumer node-7\n",
        "\n",
        "--dry-run reads the config and loads and prepares every plugin as run would, prints the\n",
        "routes, streams and plugins with their versions, and exits without touching Redis.\n",
        "\n",
        "Exit codes:\n",
        "  0    stopped by SIGINT or SIGTERM after settling every job in flight; --dry-run: valid\n",
        "  1    an error: the config, a plugin, or a failure that stopped the daemon (on stderr)\n",
        "  2    a usage error\n",
        "  130  a second SIGINT or SIGTERM: exits at once, unfinished entries stay pending",
    ))]
    Run {
        /// The routing config (TOML).
        #[arg(long, short, env = "SWITCHYARD_CONFIG")]
        config: PathBuf,
        /// Load and check the config and every plugin, print what would run,
        /// and exit; Redis is not contacted.
        #[arg(long, conflicts_with = "null_pipeline")]
        dry_run: bool,
        /// Overrides `[redis] url`.
        #[arg(long, env = "SWITCHYARD_REDIS_URL")]
        redis_url: Option<String>,
        /// Overrides `[consumer] name`.
        #[arg(long, env = "SWITCHYARD_CONSUMER")]
        consumer: Option<String>,
        /// Benchmark mode: all the Redis work, no plugin calls.
        #[arg(long, hide = true)]
        null_pipeline: bool,
    },
    /// Push jobs (one JSON object of fields per line) to a stream.
    #[command(after_help = concat!(
        "Examples:\n",
        "  switchyard send --config switchyard.toml --stream jobs jobs.jsonl\n",
        "  head -3 jobs.jsonl | switchyard send --redis-url redis://127.0.0.1:6379 --stream jobs\n",
        "\n",
        exit_codes!(),
    ))]
    Send {
        /// The stream to push to.
        #[arg(long)]
        stream: String,
        /// The Redis URL; `embedded` needs --config to find the data directory.
        #[arg(long, env = "SWITCHYARD_REDIS_URL")]
        redis_url: Option<String>,
        /// A routing config to take the Redis URL from.
        #[arg(long, short, env = "SWITCHYARD_CONFIG")]
        config: Option<PathBuf>,
        /// The jobs file (JSON lines); `-` or nothing reads stdin.
        file: Option<PathBuf>,
    },
    /// One screen for operators: streams, lag, pending, consumers, daemons.
    #[command(after_help = concat!(
        "Examples:\n",
        "  switchyard status --config /etc/switchyard/switchyard.toml\n",
        "  switchyard status --config switchyard.toml --json | jq '.sources'\n",
        "\n",
        exit_codes!(),
    ))]
    Status {
        #[command(flatten)]
        redis: RedisArgs,
        /// Print JSON for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Serve the web console (and its JSON API) alone, where no daemon runs.
    #[command(after_help = concat!(
        "The daemon serves the same console on its [metrics] listener.\n",
        "\n",
        "Examples:\n",
        "  switchyard console --config /etc/switchyard/switchyard.toml\n",
        "  switchyard console --config switchyard.toml --listen 0.0.0.0:8080\n",
        "\n",
        exit_codes!(),
    ))]
    Console {
        /// The routing config (for the Redis URL, the streams and [console]).
        #[arg(long, short, env = "SWITCHYARD_CONFIG")]
        config: PathBuf,
        /// Overrides the config's Redis URL.
        #[arg(long, env = "SWITCHYARD_REDIS_URL")]
        redis_url: Option<String>,
        /// Where to listen, HOST:PORT.
        #[arg(long, default_value = "127.0.0.1:9780")]
        listen: std::net::SocketAddr,
    },
    /// List dead letters with their reasons, oldest first.
    #[command(after_help = concat!(
        "Examples:\n",
        "  switchyard dead-letters --config switchyard.toml\n",
        "  switchyard dead-letters --config switchyard.toml --stream jobs:dead --count 100 --json\n",
        "\n",
        exit_codes!(),
    ))]
    DeadLetters {
        #[command(flatten)]
        redis: RedisArgs,
        /// The dead-letter stream; default: every one the config names.
        #[arg(long)]
        stream: Option<String>,
        /// How many to list per stream.
        #[arg(long, default_value_t = 20)]
        count: usize,
        /// Print JSON lines.
        #[arg(long)]
        json: bool,
    },
    /// Move dead letters back onto a stream for another try, one atomic move each.
    #[command(after_help = concat!(
        "Examples:\n",
        "  switchyard replay --config switchyard.toml --from jobs:dead --to jobs\n",
        "  switchyard replay --config switchyard.toml --from jobs:dead --to jobs --count 10\n",
        "\n",
        exit_codes!(),
    ))]
    Replay {
        #[command(flatten)]
        redis: RedisArgs,
        /// The dead-letter stream to take them from.
        #[arg(long)]
        from: String,
        /// The stream to put them on; default: each one's own source (needs
        /// --config). With --config it must be a source some route reads.
        #[arg(long)]
        to: Option<String>,
        /// How many to move at most.
        #[arg(long, default_value_t = usize::MAX)]
        count: usize,
        /// Only dead letters whose FIELD equals VALUE.
        #[arg(long = "match", value_name = "FIELD=VALUE")]
        filter: Option<String>,
        /// Print what would move, and move nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Look up entries retention archived before trimming them, as JSON lines.
    #[command(after_help = concat!(
        "Examples:\n",
        "  switchyard archive --config switchyard.toml --job 4f1c2d\n",
        "  switchyard archive --dir /var/lib/switchyard/archive --stream jobs:dead\n",
        "\n",
        exit_codes!(),
    ))]
    Archive {
        /// The archive directory; default: the config's `[retention] archive-dir`.
        #[arg(long)]
        dir: Option<PathBuf>,
        /// The routing config, for its archive directory.
        #[arg(long, short, env = "SWITCHYARD_CONFIG")]
        config: Option<PathBuf>,
        /// Only entries of this stream.
        #[arg(long)]
        stream: Option<String>,
        /// Only entries whose `job-id` field is this (the job's source entry and its outcomes).
        #[arg(long)]
        job: Option<String>,
        /// Only the entry with this id.
        #[arg(long)]
        entry: Option<String>,
    },
    /// Print a completion script for a shell.
    #[command(after_help = concat!(
        "Examples:\n",
        "  switchyard completions bash > /etc/bash_completion.d/switchyard\n",
        "  switchyard completions zsh > \"${fpath[1]}/_switchyard\"\n",
        "  switchyard completions fish > ~/.config/fish/completions/switchyard.fish\n",
        "\n",
        exit_codes!(),
    ))]
    Completions {
        /// The shell to complete in.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), or write one page per command to a directory.
    #[command(after_help = concat!(
        "Examples:\n",
        "  switchyard man | man -l -\n",
        "  switchyard man > /usr/local/share/man/man1/switchyard.1\n",
        "  switchyard man --dir /usr/local/share/man/man1     # switchyard.1, switchyard-run.1, ...\n",
        "\n",
        exit_codes!(),
    ))]
    Man {
        /// Write `switchyard.1` and a `switchyard-COMMAND.1` per command here
        /// instead of the main page to stdout.
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}

/// Where Redis is, for commands run beside the daemon.
#[derive(clap::Args)]
struct RedisArgs {
    /// The routing config (for the Redis URL and the stream names).
    #[arg(long, short, env = "SWITCHYARD_CONFIG")]
    config: Option<PathBuf>,
    /// Overrides the config's Redis URL.
    #[arg(long, env = "SWITCHYARD_REDIS_URL")]
    redis_url: Option<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    switchyard::logging::init(&cli.log_format);
    match cli.command {
        Command::Check { plugin, config } => trial::check_plugin(&plugin, &config),
        Command::Try {
            plugin,
            config,
            allow,
            deadline_ms,
            memory_mib,
            job,
        } => trial::try_plugin(
            &plugin,
            &config,
            &allow,
            deadline_ms,
            memory_mib,
            job.as_ref(),
        ),
        Command::New {
            kind,
            name,
            dir,
            sdk,
        } => report(scaffold::run(kind, &name, &dir, sdk)),
        Command::Diff {
            old,
            new,
            config,
            old_config,
            new_config,
            allow,
            jobs,
            stream,
            count,
            redis_url,
            routing,
            archive,
            archive_stream,
            json,
        } => {
            let jobs = match (jobs, stream, archive) {
                (Some(file), _, _) => diff::Jobs::File(file),
                (_, Some(stream), _) => diff::Jobs::Stream {
                    stream,
                    count,
                    url: redis_url,
                    config: routing,
                },
                (_, _, Some(dir)) => diff::Jobs::Archive {
                    dir,
                    stream: archive_stream,
                },
                (None, None, None) => {
                    eprintln!("error: give the jobs: --jobs FILE, --stream S or --archive DIR");
                    return ExitCode::from(2);
                }
            };
            diff::run_diff(&diff::Diff {
                old,
                new,
                config,
                old_config,
                new_config,
                allow,
                jobs,
                json,
            })
        }
        Command::Run {
            config,
            redis_url,
            consumer,
            dry_run: true,
            ..
        } => report(dry_run::run(&config, redis_url, consumer)),
        Command::Run {
            config,
            redis_url,
            consumer,
            null_pipeline,
            dry_run: false,
        } => report(switchyard::daemon::run(
            &config,
            redis_url,
            consumer,
            null_pipeline,
        )),
        Command::Send {
            stream,
            redis_url,
            config,
            file,
        } => report(send::run(
            &stream,
            redis_url,
            config.as_deref(),
            file.as_deref(),
        )),
        Command::Status { redis, json } => {
            report(status::run(redis.redis_url, redis.config.as_deref(), json))
        }
        Command::Console {
            config,
            redis_url,
            listen,
        } => report(switchyard::console::serve_alone(&config, redis_url, listen)),
        Command::DeadLetters {
            redis,
            stream,
            count,
            json,
        } => report(replay::list(
            redis.redis_url,
            redis.config.as_deref(),
            stream,
            count,
            json,
        )),
        Command::Replay {
            redis,
            from,
            to,
            count,
            filter,
            dry_run,
        } => report(replay::run(
            redis.redis_url,
            redis.config.as_deref(),
            &from,
            to.as_deref(),
            count,
            filter.as_deref(),
            dry_run,
        )),
        Command::Archive {
            dir,
            config,
            stream,
            job,
            entry,
        } => report(archive::run(
            dir,
            config.as_deref(),
            &Query { stream, job, entry },
        )),
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "switchyard",
                &mut std::io::stdout(),
            );
            ExitCode::SUCCESS
        }
        Command::Man { dir } => report(man(dir)),
    }
}

/// `switchyard man`: the main page to stdout, or every page into `dir`.
fn man(dir: Option<PathBuf>) -> anyhow::Result<()> {
    let command = Cli::command();
    match dir {
        Some(dir) => clap_mangen::generate_to(command, &dir)
            .with_context(|| format!("cannot write the man pages into {}", dir.display())),
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(command).render(&mut page)?;
            std::io::stdout()
                .write_all(&page)
                .context("cannot write the man page to stdout")
        }
    }
}

/// Prints an edge error with its causes and picks the exit code.
fn report(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
