//! Reading the file ahead of the writer: a task reads the next batch of rows, and in create mode
//! validates it, while the database writes the batch before it. The writer and the database are
//! one core's work (SQLite's thread, or PostgreSQL's process); reading and validating were a
//! third of an import's CPU, spent while the database waited.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::mpsc;

use super::mapping::Columns;
use super::run::BATCH_ROWS;
use super::source::{Row, Source, SourceError};
use crate::domain::crm::bulk::Prepared;
use crate::domain::crm::custom_fields::Definition;

/// A tenant's custom field definitions by key.
pub type Definitions = HashMap<String, Definition>;

/// Up to [`BATCH_ROWS`] rows, numbered from 1 after the header.
pub struct Batch {
    pub rows: Vec<(i64, Row)>,
    /// In create mode, the rows prepared and the definitions they were checked against.
    pub prepared: Option<(Arc<Definitions>, Prepared)>,
}

impl Batch {
    /// The rows prepared against `defs`: as the reader prepared them when it read the same
    /// definitions, else again (a field was added, changed or removed meanwhile).
    pub fn prepared_for(&mut self, columns: &Columns, defs: &Definitions) -> Prepared {
        match self.prepared.take() {
            Some((read_with, prepared)) if *read_with == *defs => prepared,
            _ => prepare(columns, defs, &self.rows),
        }
    }
}

/// What a create-mode reader validates with.
pub struct Preparing {
    pub columns: Columns,
    pub defs: Arc<Definitions>,
}

/// What the reader sends: a batch, `Ok(None)` after the last one, or why reading stopped.
pub type Next = Result<Option<Batch>, SourceError>;

/// Starts reading `source` after its first `skip` rows (committed by an earlier attempt).
pub fn start(mut source: Source, skip: i64, preparing: Option<Preparing>) -> mpsc::Receiver<Next> {
    let (sender, receiver) = mpsc::channel(1);
    tokio::spawn(async move {
        let mut row_number = 0i64;
        // A batch is read once the writer has taken the one before it: one waiting, no more.
        while let Ok(permit) = sender.reserve().await {
            let next = match read_batch(&mut source, &mut row_number, skip).await {
                Ok(rows) if rows.is_empty() => Ok(None),
                Ok(rows) => {
                    let prepared = match &preparing {
                        Some(p) => Some((p.defs.clone(), prepare_in_turns(&p.columns, &p.defs, &rows).await)),
                        None => None,
                    };
                    Ok(Some(Batch { rows, prepared }))
                }
                Err(e) => Err(e),
            };
            let more = matches!(next, Ok(Some(_)));
            permit.send(next);
            if !more {
                return;
            }
        }
    });
    receiver
}

/// The next batch's rows, after skipping to row `skip`; empty at the end of the file.
async fn read_batch(source: &mut Source, row_number: &mut i64, skip: i64) -> Result<Vec<(i64, Row)>, SourceError> {
    while *row_number < skip {
        if source.next().await?.is_none() {
            return Ok(Vec::new());
        }
        *row_number += 1;
    }
    let mut rows = Vec::with_capacity(BATCH_ROWS);
    while rows.len() < BATCH_ROWS {
        match source.next().await? {
            Some(row) => {
                *row_number += 1;
                rows.push((*row_number, row));
            }
            None => break,
        }
    }
    Ok(rows)
}

/// Rows validated between yields to the runtime: a batch is tens of milliseconds of work. On a
/// thread of the blocking pool instead (faster: 8,300–9,300 rows/s against 6,900–7,400 at
/// 200,000 rows), the batches were allocated in that thread's malloc arena and freed in others',
/// and peak RSS grew with the rows: 315 MB at 1,000,000 against 155 MB this way.
const TURN_ROWS: usize = 250;

/// The well-formed rows of `rows` validated against `defs` (the others are the writer's to
/// report).
pub fn prepare(columns: &Columns, defs: &Definitions, rows: &[(i64, Row)]) -> Prepared {
    let mut prepared = Prepared::default();
    add(&mut prepared, columns, defs, rows);
    prepared
}

async fn prepare_in_turns(columns: &Columns, defs: &Definitions, rows: &[(i64, Row)]) -> Prepared {
    let mut prepared = Prepared::default();
    for turn in rows.chunks(TURN_ROWS) {
        add(&mut prepared, columns, defs, turn);
        tokio::task::yield_now().await;
    }
    prepared
}

fn add(prepared: &mut Prepared, columns: &Columns, defs: &Definitions, rows: &[(i64, Row)]) {
    for (n, row) in rows {
        if let Row::Cells(cells) = row {
            let cells: Vec<&str> = cells.iter().map(String::as_str).collect();
            prepared.add(defs, *n as usize, columns.input(&cells, defs));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::crm::custom_fields::FieldType;
    use crate::domain::imports::mapping::Mapping;

    #[test]
    fn a_batch_read_before_the_fields_changed_is_prepared_again() {
        let headers = ["email", "score"].map(String::from);
        let mapping = Mapping::from_stored(r#"{"email": "email", "score": "custom_fields.score"}"#);
        let columns = Mapping::bind(Some(&mapping), &headers).unwrap();
        let rows = vec![(1, Row::Cells(vec!["a@x.io".into(), "5".into()]))];
        let before = Arc::new(Definitions::new());
        let now: Definitions = [(
            "score".to_owned(),
            Definition {
                key: "score".into(),
                field_type: FieldType::Number,
                options: Vec::new(),
            },
        )]
        .into();
        let stale = prepare(&columns, &before, &rows);
        assert_eq!((stale.to_create(), stale.refused()), (0, 1), "score is unknown then");
        let mut batch = Batch {
            rows,
            prepared: Some((before.clone(), stale)),
        };
        let again = batch.prepared_for(&columns, &now);
        assert_eq!((again.to_create(), again.refused()), (1, 0));
        // Prepared against the same definitions, the reader's work is taken as it is.
        let mut batch = Batch {
            prepared: Some((before.clone(), prepare(&columns, &before, &batch.rows))),
            rows: batch.rows,
        };
        assert_eq!(batch.prepared_for(&columns, &before).refused(), 1);
    }
}
