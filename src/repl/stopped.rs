//! How a stopped or failed copy's message reads at the prompt. `ferry run`'s messages
//! end with what to do next (`run again with --resume`); the prompt has no `--resume`:
//! a copy typed again reads its table from the start and meets the rows already there
//! as its mode says. The copy's own words before that are kept.

/// `ferry run`'s advice, and what the prompt says instead.
const ADVICE: [(&str, &str); 3] = [
    (
        "every committed page is checkpointed: run again with --resume to continue",
        "every committed page is kept: run the copy again to go on (at the prompt it reads \
         from the start, and the rows already copied meet its mode: insert leaves them, \
         counted ignored)",
    ),
    (
        "then run the job again with --resume to continue from that page",
        "then run the copy again (at the prompt it reads from the start; the pages before \
         are kept)",
    ),
    (
        "(--resume continues after the last committed page)",
        "(at the prompt the copy reads from the start)",
    ),
];

/// `message` with `ferry run`'s advice on resuming replaced by the prompt's.
pub fn at_prompt(message: &str) -> String {
    ADVICE.iter().fold(message.to_string(), |m, (run, prompt)| {
        m.replace(run, prompt)
    })
}

/// Whether the message is a stop (Ctrl-C, `h:stop()`) after the pages in flight.
pub fn is_stop(message: &str) -> bool {
    message.contains("stopped by ") && message.contains(ADVICE[0].0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{Error, STOP_ASKED};

    #[test]
    fn the_prompt_does_not_advise_resume() {
        let stop = Error::Interrupted {
            signal: STOP_ASKED,
            met: None,
        }
        .to_string();
        assert!(is_stop(&stop));
        let said = at_prompt(&stop);
        assert!(!said.contains("--resume"), "{said}");
        assert!(said.starts_with("stopped by h:stop() after the pages in flight; every committed page is kept: run the copy again"), "{said}");
        assert_eq!(at_prompt("no table `x`"), "no table `x`");
    }
}
