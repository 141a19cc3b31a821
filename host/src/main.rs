//! The `switchyard` command line: raw flags become validated settings here,
//! and errors are printed once, with their causes, at this edge.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use switchyard::cli::trial;
use switchyard::plugin::{Plugin, PluginSettings, Runtime};

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
        /// The stream to put them on (usually the source stream).
        #[arg(long)]
        to: String,
        /// How many to move at most.
        #[arg(long, default_value_t = usize::MAX)]
        count: usize,
        /// Only dead letters whose FIELD equals VALUE.
        #[arg(long = "match", value_name = "FIELD=VALUE")]
        filter: Option<String>,
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

impl RedisArgs {
    fn connect(&self) -> anyhow::Result<(redis::Connection, Option<switchyard::config::Settings>)> {
        let (url, settings) =
            switchyard::store::resolve(self.redis_url.clone(), self.config.as_deref())?;
        let conn = switchyard::store::client(&url)?
            .get_connection()
            .map_err(|e| {
                anyhow::anyhow!(
                    "cannot connect to Redis at {}: {e}",
                    switchyard::config::redact(&url)
                )
            })?;
        Ok((conn, settings))
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    switchyard::logging::init(&cli.log_format);
    match cli.command {
        Command::Check { plugin } => check(plugin),
        Command::Try {
            plugin,
            config,
            allow,
            deadline_ms,
            memory_mib,
            job,
        } => try_plugin(plugin, config, allow, deadline_ms, memory_mib, job),
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
        } => report(switchyard::cli::send::run(
            &stream,
            redis_url,
            config.as_deref(),
            file.as_deref(),
        )),
        Command::Status { redis, json } => report(status(redis, json)),
        Command::DeadLetters {
            redis,
            stream,
            count,
            json,
        } => report(dead_letters(redis, stream, count, json)),
        Command::Replay {
            redis,
            from,
            to,
            count,
            filter,
        } => report(replay(redis, from, to, count, filter)),
        Command::Archive {
            dir,
            config,
            stream,
            job,
            entry,
        } => report(archive(
            dir,
            config,
            switchyard::retention::archive::Query { stream, job, entry },
        )),
    }
}

fn status(redis: RedisArgs, json: bool) -> anyhow::Result<()> {
    let (mut conn, settings) = redis.connect()?;
    let settings =
        settings.ok_or_else(|| anyhow::anyhow!("status needs --config to know the streams"))?;
    let report = switchyard::cli::status::collect(&mut conn, &settings)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", switchyard::cli::status::render(&report));
    }
    Ok(())
}

fn dead_letters(
    redis: RedisArgs,
    stream: Option<String>,
    count: usize,
    json: bool,
) -> anyhow::Result<()> {
    let (mut conn, settings) = redis.connect()?;
    let streams: Vec<String> = match (stream, &settings) {
        (Some(stream), _) => vec![stream],
        (None, Some(settings)) => {
            let mut streams: Vec<String> = settings
                .routes
                .iter()
                .map(|r| r.dead_letters.clone())
                .collect();
            streams.dedup();
            streams
        }
        (None, None) => anyhow::bail!("give --stream or --config"),
    };
    for stream in streams {
        let letters = switchyard::cli::replay::read(&mut conn, &stream, "-", count)?;
        if !json {
            let total: usize = redis::cmd("XLEN").arg(&stream).query(&mut conn)?;
            println!(
                "{stream}: {total} dead letters{}",
                if total > letters.len() {
                    format!(", the first {}", letters.len())
                } else {
                    String::new()
                }
            );
        }
        for letter in &letters {
            let d = switchyard::cli::replay::describe(&stream, letter);
            if json {
                println!("{d}");
            } else {
                let s = |k: &str| d[k].as_str().unwrap_or("-").to_owned();
                println!(
                    "  {}  job {}  service {}  [{} {}] {}",
                    s("id"),
                    s("job-id"),
                    s("service"),
                    s("stage"),
                    s("error"),
                    s("reason")
                );
            }
        }
    }
    Ok(())
}

fn replay(
    redis: RedisArgs,
    from: String,
    to: String,
    count: usize,
    filter: Option<String>,
) -> anyhow::Result<()> {
    let filter = match filter {
        Some(f) => Some(
            f.split_once('=')
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .ok_or_else(|| anyhow::anyhow!("--match `{f}`: expected FIELD=VALUE"))?,
        ),
        None => None,
    };
    let (mut conn, _) = redis.connect()?;
    let moved = switchyard::cli::replay::replay(&mut conn, &from, &to, count, filter.as_ref())?;
    println!("replayed {moved} dead letters from {from} to {to}");
    Ok(())
}

fn archive(
    dir: Option<PathBuf>,
    config: Option<PathBuf>,
    query: switchyard::retention::archive::Query,
) -> anyhow::Result<()> {
    let dir = match (dir, config) {
        (Some(dir), _) => dir,
        (None, Some(config)) => {
            // The archive needs no Redis: any URL lets a config that takes
            // its URL from the environment load.
            let settings = switchyard::config::Settings::load(
                &config,
                Some("embedded".into()),
                Some("cli".into()),
            )?;
            settings
                .retention
                .and_then(|r| r.archive_dir)
                .ok_or_else(|| {
                    anyhow::anyhow!("{} sets no [retention] archive-dir", config.display())
                })?
        }
        (None, None) => anyhow::bail!("give --dir or --config"),
    };
    let mut out = std::io::stdout().lock();
    for line in switchyard::retention::archive::read(&dir, &query)? {
        use std::io::Write;
        writeln!(out, "{line}")?;
    }
    Ok(())
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

fn runtime() -> Result<Runtime, ExitCode> {
    Runtime::new().map_err(|e| {
        eprintln!("error: {e:#}");
        ExitCode::from(2)
    })
}

fn check(plugin: PathBuf) -> ExitCode {
    let runtime = match runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    match trial::check(&runtime, &plugin) {
        Ok(loaded) => {
            println!(
                "{}: {} satisfies {}",
                plugin.display(),
                loaded.version(),
                loaded.worlds().names().join(", ")
            );
            if loaded.is_prepared() {
                println!("prepare: ran once at load; every job starts from what it left");
            }
            if !loaded.extra_exports().is_empty() {
                println!("ignored exports: {}", loaded.extra_exports().join(", "));
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn try_plugin(
    path: PathBuf,
    config: Vec<String>,
    allow: Vec<String>,
    deadline_ms: Option<u64>,
    memory_mib: Option<usize>,
    job: Option<PathBuf>,
) -> ExitCode {
    let runtime = match runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    let setup =
        || -> anyhow::Result<(Plugin, switchyard::pipeline::job::Job, Option<Vec<String>>)> {
            let overrides = switchyard::plugin::LimitOverrides {
                deadline_ms,
                memory_mib,
                ..Default::default()
            };
            let settings = PluginSettings {
                limits: overrides
                    .apply(Default::default())
                    .map_err(anyhow::Error::msg)?,
                config: trial::parse_config(&config)?,
                ..Default::default()
            };
            let plugin = Plugin::load(&runtime, &trial::plugin_name(&path), &path, settings)?;
            let job = trial::read_job(job.as_ref())?;
            Ok((plugin, job, trial::allowed_targets(&allow)?))
        };
    let (plugin, job, allowed) = match setup() {
        Ok(ready) => ready,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(2);
        }
    };
    match trial::run(&plugin, &job, allowed.as_deref()) {
        Ok(answer) => {
            println!(
                "{}",
                serde_json::to_string_pretty(&answer).expect("JSON values print")
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!(
                "{}",
                serde_json::to_string_pretty(&trial::error_json(&e)).expect("JSON values print")
            );
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
