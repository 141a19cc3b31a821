//! send
/// Sends jobs.
pub fn run(_stream: &str, _url: Option<String>, _config: Option<&std::path::Path>, _file: Option<&std::path::Path>) -> anyhow::Result<()> { anyhow::bail!("not yet") }
