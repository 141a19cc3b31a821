//! The `switchyard` command line: parses the flags and calls the command,
//! a function of [`switchyard::cli`] (or [`switchyard::daemon::run`]) that
//! takes the parsed values. Errors are printed once, with their causes, at
//! this edge.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use switchyard::cli::{archive, replay, send, status, trial};
use switchyard::retention::archive::Query;

/// Routes job requests from Redis streams through sandboxed WebAssembly
/// plugins that validate each job and choose the runner queue it goes to.
#[derive(Parser)]
#[command(name = "switchyard", version, about)]
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
    Check {
        /// The plugin's `.wasm` file.
        plugin: PathBuf,
        /// A config value its `prepare` reads, `KEY=VALUE` or `KEY=@FILE`;
        /// repeatable. A config it refuses fails the check.
        #[arg(long = "config", value_name = "KEY=VALUE")]
        config: Vec<String>,
    },
    /// Run a plugin on one job without Redis and print its answer as JSON.
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
        /// The job: a JSON object of entry fields; `-` or nothing reads stdin.
        job: Option<PathBuf>,
    },
    /// Run the router daemon.
    Run {
        /// The routing config (TOML).
        #[arg(long, short)]
        config: PathBuf,
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
    Send {
        /// The stream to push to.
        #[arg(long)]
        stream: String,
        /// The Redis URL; `embedded` needs --config to find the data directory.
        #[arg(long, env = "SWITCHYARD_REDIS_URL")]
        redis_url: Option<String>,
        /// A routing config to take the Redis URL from.
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// The jobs file (JSON lines); `-` or nothing reads stdin.
        file: Option<PathBuf>,
    },
    /// One screen for operators: streams, lag, pending, consumers, daemons.
    Status {
        #[command(flatten)]
        redis: RedisArgs,
        /// Print JSON for scripts.
        #[arg(long)]
        json: bool,
    },
    /// List dead letters with their reasons, oldest first.
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
    Archive {
        /// The archive directory; default: the config's `[retention] archive-dir`.
        #[arg(long)]
        dir: Option<PathBuf>,
        /// The routing config, for its archive directory.
        #[arg(long, short)]
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
}

/// Where Redis is, for commands run beside the daemon.
#[derive(clap::Args)]
struct RedisArgs {
    /// The routing config (for the Redis URL and the stream names).
    #[arg(long, short)]
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
        Command::Run {
            config,
            redis_url,
            consumer,
            null_pipeline,
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
