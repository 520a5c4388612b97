//! Long results through a pager: a result taller than the terminal goes to `$PAGER`
//! (`less -FRX` when unset) while stdout is a terminal; piped output never does.
//! `.pager off|on|CMD` switches it or names the command.

use std::io::{IsTerminal, Write};
use std::process::{Command, Stdio};

use crate::error::{Error, Result};

pub struct Pager {
    /// The command, run by `sh -c`; `None`: off.
    command: Option<String>,
}

fn default_command() -> String {
    std::env::var("PAGER")
        .ok()
        .filter(|p| !p.trim().is_empty())
        .unwrap_or_else(|| "less -FRX".into())
}

impl Pager {
    pub fn new() -> Pager {
        Pager {
            command: Some(default_command()),
        }
    }

    /// `.pager off|on|CMD`; what it became.
    pub fn set(&mut self, args: &str) -> Result<String> {
        self.command = match args.trim() {
            "" => {
                return Ok(self.describe());
            }
            "off" => None,
            "on" => Some(default_command()),
            cmd => Some(cmd.to_string()),
        };
        Ok(self.describe())
    }

    fn describe(&self) -> String {
        match &self.command {
            Some(c) => format!("pager: {c} (for results taller than the terminal)"),
            None => "pager: off".into(),
        }
    }

    /// Prints `text` (which ends with a newline), through the pager when it is on,
    /// stdout is a terminal and `text` is taller than it.
    pub fn print(&self, text: &str) {
        if let (Some(cmd), Some(rows)) = (&self.command, terminal_rows()) {
            if text.lines().count() + 1 >= rows {
                match through(cmd, text) {
                    Ok(()) => return,
                    Err(e) => eprintln!("error: {e}; printing here"),
                }
            }
        }
        print!("{text}");
        let _ = std::io::stdout().flush();
    }
}

/// The terminal's height, `None` when stdout is not a terminal.
fn terminal_rows() -> Option<usize> {
    if !std::io::stdout().is_terminal() {
        return None;
    }
    // SAFETY: TIOCGWINSZ fills the winsize it is given, nothing else.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) } == 0;
    (ok && ws.ws_row > 0).then_some(ws.ws_row as usize)
}

fn through(cmd: &str, text: &str) -> Result<()> {
    let fail = |e: std::io::Error| Error::System {
        what: format!("the pager `{cmd}`"),
        message: e.to_string(),
    };
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .stdin(Stdio::piped())
        .spawn()
        .map_err(fail)?;
    if let Some(mut stdin) = child.stdin.take() {
        // A pager left early (`q`) closes its end: not an error.
        let _ = stdin.write_all(text.as_bytes());
    }
    let status = child.wait().map_err(fail)?;
    // 127: the shell found no such command (`less` not installed): nothing was shown.
    if status.code() == Some(127) {
        return Err(Error::System {
            what: format!("the pager `{cmd}`"),
            message: "command not found (.pager off, or .pager CMD for another)".into(),
        });
    }
    Ok(())
}
