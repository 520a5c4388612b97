//! The server's answers into counts: affected rows and the info string of each
//! statement added up for a page, then, by mode, into the page's inserted, updated,
//! unchanged, ignored and conflicting rows.

use super::messages::info_number;
use super::Mode;
use super::{Counts, WriteError, Writer};
use crate::db::Db;

/// What the server answered for some rows of a page, added up.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Answer {
    rows: u64,
    affected: u64,
    /// Upsert: rows that updated an existing row (the info string's `Duplicates:`).
    dups: u64,
    /// Insert: duplicate-key warnings that name a key other than the resolving one.
    other_dups: u64,
}

impl Answer {
    pub(super) fn add(&mut self, o: Answer) {
        self.rows += o.rows;
        self.affected += o.affected;
        self.dups += o.dups;
        self.other_dups += o.other_dups;
    }
}

impl Writer {
    /// The server's answer to a statement that wrote `rows` rows, the first of them
    /// row `first_row` of the page; any warning but a duplicate key in insert mode
    /// fails the page (see `check_warnings`).
    pub(super) fn answer(
        &self,
        db: &mut Db,
        rows: usize,
        first_row: usize,
    ) -> Result<Answer, WriteError> {
        let affected = db.conn().affected_rows();
        let info = db.conn().info_str().into_owned();
        let other_dups = if db.conn().warnings() > 0 {
            self.check_warnings(db, rows, first_row)?
        } else {
            0
        };
        let dups = match self.mode {
            Mode::Upsert if rows == 1 => u64::from(affected == 2),
            Mode::Upsert => info_number(&info, "Duplicates:").unwrap_or(0),
            _ => 0,
        };
        Ok(Answer {
            rows: rows as u64,
            affected,
            dups,
            other_dups,
        })
    }

    /// A page's counts from the server's answers and, when counted, how many of its
    /// rows were already in the target by the resolving key (`existing`).
    pub(super) fn page_counts(&self, a: Answer, existing: Option<u64>) -> Counts {
        let n = a.rows;
        match self.mode {
            Mode::Insert => {
                let inserted = a.affected.min(n);
                let dropped = n - inserted;
                let conflicts = if self.check_unique {
                    a.other_dups.min(dropped)
                } else {
                    0
                };
                Counts {
                    inserted,
                    ignored: dropped - conflicts,
                    conflicts,
                    ..Counts::default()
                }
            }
            Mode::Overwrite => {
                // Each row adds 1, plus 1 per row it deleted or changed in place (an
                // identical row replaced in place adds nothing more).
                let extra = a.affected.saturating_sub(n);
                match existing {
                    Some(e) => {
                        let e = e.min(n);
                        let mut updated = extra.min(e);
                        // More rows went than the page's own: others, through other keys.
                        let conflicts = if self.check_unique {
                            extra - updated
                        } else {
                            0
                        };
                        let new_conflicts = conflicts.min(n - e);
                        updated = updated.saturating_sub(conflicts - new_conflicts);
                        Counts {
                            inserted: n - e - new_conflicts,
                            updated,
                            unchanged: e - updated - (conflicts - new_conflicts),
                            conflicts,
                            ..Counts::default()
                        }
                    }
                    None => {
                        let updated = extra.min(n);
                        Counts {
                            inserted: n - updated,
                            updated,
                            ..Counts::default()
                        }
                    }
                }
            }
            Mode::Upsert => {
                // affected = inserted + 2 * changed; unchanged rows count 0.
                let inserted = a.affected.saturating_sub(2 * a.dups).min(n);
                // Rows not in the target by their key that were not inserted updated
                // another row, through another unique key.
                let conflicts = match existing {
                    Some(e) if self.check_unique => (n - e.min(n)).saturating_sub(inserted),
                    _ => 0,
                };
                let updated = a
                    .dups
                    .saturating_sub(conflicts)
                    .min(n - inserted - conflicts);
                Counts {
                    inserted,
                    updated,
                    unchanged: n - inserted - conflicts - updated,
                    conflicts,
                    ..Counts::default()
                }
            }
        }
    }
}
