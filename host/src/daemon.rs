//! daemon
/// Runs the daemon.
pub fn run(_config: &std::path::Path, _url: Option<String>, _consumer: Option<String>) -> anyhow::Result<()> { anyhow::bail!("not yet") }
