//! A store on a SQLite file of its own, for the store's unit tests; the file and its WAL go
//! when it drops, failed test or not. No checkpointer runs in the background: the tests that
//! need one run it themselves, and the group-commit tests must not see its turns.

use std::path::PathBuf;

use super::Store;

pub(crate) struct TempSqlite {
    pub store: Store,
    pub path: PathBuf,
}

impl TempSqlite {
    pub async fn new() -> Self {
        let path = std::env::temp_dir().join(format!("sb_test_store_{}.db", uuid::Uuid::now_v7().simple()));
        let store = Store::connect_without_checkpoints(&format!("sqlite://{}", path.display()), 2)
            .await
            .unwrap();
        Self { store, path }
    }
}

impl Drop for TempSqlite {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.path.display()));
        }
    }
}
