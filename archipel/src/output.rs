//! Printing results for people and for scripts (`--json`).
//!
//! SIGPIPE stays ignored in every command (Rust's default): a node or front that drops a
//! connection must surface as an error, never kill the process silently. A closed *stdout*
//! (`archipel … | head`) still ends the command quietly: the printing here exits with the
//! status a shell reports for SIGPIPE.

use std::fmt;
use std::io::{self, Write};
use std::pin::Pin;
use std::task::{Context, Poll};

use serde::Serialize;

/// What a shell reports for a process ended by SIGPIPE (128 + 13).
pub const CLOSED_STDOUT_EXIT: i32 = 141;

/// `println!` for command output: see the module comment.
macro_rules! outln {
    () => { $crate::output::line(format_args!("")) };
    ($($arg:tt)*) => { $crate::output::line(format_args!($($arg)*)) };
}
/// `print!` for command output.
macro_rules! out {
    ($($arg:tt)*) => { $crate::output::text(format_args!($($arg)*)) };
}

pub fn line(args: fmt::Arguments) {
    let mut stdout = io::stdout().lock();
    let written = stdout.write_fmt(args).and_then(|()| stdout.write_all(b"\n"));
    handle(written);
}

pub fn text(args: fmt::Arguments) {
    let mut stdout = io::stdout().lock();
    let written = stdout.write_fmt(args).and_then(|()| stdout.flush());
    handle(written);
}

fn handle(written: io::Result<()>) {
    match written {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => std::process::exit(CLOSED_STDOUT_EXIT),
        Err(e) => {
            eprintln!("error: cannot write to standard output: {e}");
            std::process::exit(1);
        }
    }
}

pub fn print_json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    outln!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// Standard output for streamed bytes (`archipel get`): a reader that goes away ends the
/// command quietly, like `line`.
pub struct Stdout(tokio::io::Stdout);

impl Stdout {
    pub fn new() -> Self {
        Self(tokio::io::stdout())
    }
}

fn quiet_on_closed<T>(r: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
    if let Poll::Ready(Err(e)) = &r {
        if e.kind() == io::ErrorKind::BrokenPipe {
            std::process::exit(CLOSED_STDOUT_EXIT);
        }
    }
    r
}

impl tokio::io::AsyncWrite for Stdout {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        quiet_on_closed(Pin::new(&mut self.0).poll_write(cx, buf))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        quiet_on_closed(Pin::new(&mut self.0).poll_flush(cx))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        quiet_on_closed(Pin::new(&mut self.0).poll_shutdown(cx))
    }
}

/// Shows bytes as text when they are printable UTF-8, else as hex.
pub fn show_bytes(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) if !s.chars().any(char::is_control) => s.to_owned(),
        _ => format!("0x{}", bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()),
    }
}
