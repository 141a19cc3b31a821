//! The tests' own Python: a venv at `target/venv` with the packages of
//! `tests/slivka/requirements.txt` (slivka and Biopython for the
//! differential test, redis-py for the Python client's test), made on first
//! use and made again when the requirements change.
//!
//! Stock Debian refuses `pip install` into the system Python, and the
//! differential test needs exact versions of slivka and Biopython, so the
//! tests never use the system's packages. The venv is checked with one small
//! stamp file (the requirements' SHA-256), so an up-to-date venv costs one
//! `python3` start per test run.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use super::repo_root;

/// The requirements file, relative to the repository root.
const REQUIREMENTS: &str = "tests/slivka/requirements.txt";

/// The stamp inside the venv: the SHA-256 of the requirements it was made
/// from. Written last, so a venv whose install was interrupted has none.
const STAMP: &str = "requirements.sha256";

/// The venv's `python`, making the venv first if it is missing or was made
/// from other requirements. Panics with what is missing (python3, the venv
/// module, the package index) when it cannot be made. Safe to call from
/// many tests at once: the venv is made once per test process, under a file
/// lock against other processes.
pub fn python() -> PathBuf {
    static PYTHON: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    PYTHON
        .get_or_init(ensure)
        .clone()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Makes the venv unless it is up to date; its `python`, or what went wrong.
fn ensure() -> Result<PathBuf, String> {
    let root = repo_root();
    let venv = root.join("target").join("venv");
    let requirements = root.join(REQUIREMENTS);
    let python = venv.join("bin").join("python");
    std::fs::create_dir_all(root.join("target"))
        .map_err(|e| format!("cannot create target/: {e}"))?;
    let lock = std::fs::File::create(root.join("target").join("venv.lock"))
        .map_err(|e| format!("cannot create target/venv.lock: {e}"))?;
    lock.lock()
        .map_err(|e| format!("cannot lock target/venv.lock: {e}"))?;
    let want = requirements_hash(&requirements)?;
    let stamp = venv.join(STAMP);
    if python.is_file() && std::fs::read_to_string(&stamp).is_ok_and(|have| have.trim() == want) {
        return Ok(python);
    }
    eprintln!(
        "making the tests' Python venv at {} from {REQUIREMENTS} (once; needs python3-venv and the package index)",
        venv.display()
    );
    let _ = std::fs::remove_dir_all(&venv);
    run(
        Command::new("python3").args(["-m", "venv"]).arg(&venv),
        "`python3 -m venv` failed; on Debian or Ubuntu install the venv module with \
         `sudo apt-get install python3-venv` (.ci/run does this)",
    )?;
    run(
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-r",
            ])
            .arg(&requirements),
        &format!(
            "pip could not install {REQUIREMENTS} into target/venv (it needs the package index)"
        ),
    )?;
    std::fs::write(&stamp, format!("{want}\n"))
        .map_err(|e| format!("cannot write {}: {e}", stamp.display()))?;
    Ok(python)
}

/// The SHA-256 of the requirements file, computed by the system's python3
/// (which the venv needs anyway).
fn requirements_hash(requirements: &Path) -> Result<String, String> {
    let output = Command::new("python3")
        .args([
            "-c",
            "import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], 'rb').read()).hexdigest())",
        ])
        .arg(requirements)
        .output()
        .map_err(|e| format!("cannot run python3 ({e}); install Python 3 (Debian: python3)"))?;
    if !output.status.success() {
        return Err(format!(
            "python3 cannot read {}: {}",
            requirements.display(),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

/// Runs `command`; on failure, `what` and the command's output.
fn run(command: &mut Command, what: &str) -> Result<(), String> {
    let output = command
        .output()
        .map_err(|e| format!("{what}: cannot start it: {e}"))?;
    if output.status.success() {
        return Ok(());
    }
    Err(format!(
        "{what}:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    ))
}
