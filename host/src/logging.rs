//! Log output through `tracing`: readable text by default, JSON lines for
//! collectors. `RUST_LOG` picks the level (default `info`).
//!
//! Log lines carry text that came from outside: a plugin's log calls and
//! its stdout and stderr, a submitter's job id. In the text format every
//! control character inside a line is escaped ([`Escaping`]), so no value
//! can start a line of its own or move the cursor, and a reader can trust
//! that each line is one event. (The JSON format escapes them already.)

use std::io::{self, Write};

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// Installs the global subscriber; `format` is `text` or `json`.
pub fn init(format: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if format == "json" {
        builder.with_writer(io::stderr).json().init();
    } else {
        // No colours: their escape sequences are what Escaping removes.
        builder.with_writer(Escaping).with_ansi(false).init();
    }
}

/// Standard error, with every control character of an event escaped but
/// the newline that ends it. The text formatter writes each event whole in
/// one call, so one call is one line.
#[derive(Clone, Copy, Debug, Default)]
pub struct Escaping;

impl<'a> MakeWriter<'a> for Escaping {
    type Writer = EscapingWriter<io::Stderr>;

    fn make_writer(&'a self) -> Self::Writer {
        EscapingWriter(io::stderr())
    }
}

/// Writes to `W` with control characters escaped as `\n`, `\r`, `\t` or
/// `\xNN`, except a newline that ends the buffer written.
pub struct EscapingWriter<W>(pub W);

impl<W: Write> Write for EscapingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write_all(&escape(buf))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// `bytes` with every control character escaped, bar a final newline.
fn escape(bytes: &[u8]) -> Vec<u8> {
    let (body, end) = match bytes.split_last() {
        Some((b'\n', body)) => (body, &b"\n"[..]),
        _ => (bytes, &b""[..]),
    };
    if !body.iter().any(|b| b.is_ascii_control()) {
        return bytes.to_vec();
    }
    let mut out = Vec::with_capacity(bytes.len() + 16);
    for &b in body {
        match b {
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b if b.is_ascii_control() => out.extend_from_slice(format!("\\x{b:02x}").as_bytes()),
            b => out.push(b),
        }
    }
    out.extend_from_slice(end);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_cannot_start_a_line_of_its_own_or_move_the_cursor() {
        let line = b"INFO job=a\nINFO reloaded: forged\r\x1b[2K plugin said hi\n";
        let mut out = Vec::new();
        EscapingWriter(&mut out).write_all(line).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "INFO job=a\\nINFO reloaded: forged\\r\\x1b[2K plugin said hi\n"
        );
        let mut plain = Vec::new();
        EscapingWriter(&mut plain).write_all(b"INFO ok\n").unwrap();
        assert_eq!(plain, b"INFO ok\n");
    }
}
