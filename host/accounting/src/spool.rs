//! The on-disk copy of the settlements the database has not stored yet: one JSON line each,
//! appended when a commit fails and emptied once every one of them is stored, so that a gateway
//! stopped during a database outage stores them at its next start. Storing a settlement twice
//! is harmless (a generation record is stored once, by its id).

use std::path::{Path, PathBuf};

use tokio::io::AsyncWriteExt;

use super::store::Settlement;

/// The spool file of a gateway.
#[derive(Debug, Clone)]
pub struct Spool {
    path: PathBuf,
}

/// Why the spool could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    /// Reading or writing the file failed.
    #[error("settlement spool {path}: {source}")]
    Io {
        /// The spool file.
        path: PathBuf,
        /// What failed.
        #[source]
        source: std::io::Error,
    },
    /// A line is not a settlement this version writes.
    #[error("settlement spool {path}, line {line}: {source}")]
    Corrupt {
        /// The spool file.
        path: PathBuf,
        /// The line, from 1.
        line: usize,
        /// Why it does not parse.
        #[source]
        source: serde_json::Error,
    },
}

impl Spool {
    /// The spool at `path` (created when first needed).
    pub fn new(path: PathBuf) -> Spool {
        Spool { path }
    }

    /// Its file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn io(&self, source: std::io::Error) -> SpoolError {
        SpoolError::Io {
            path: self.path.clone(),
            source,
        }
    }

    /// The settlements it holds (none when the file is missing).
    pub async fn load(&self) -> Result<Vec<Settlement>, SpoolError> {
        let text = match tokio::fs::read_to_string(&self.path).await {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(error) => return Err(self.io(error)),
        };
        text.lines()
            .enumerate()
            .filter(|(_, line)| !line.trim().is_empty())
            .map(|(index, line)| {
                serde_json::from_str(line).map_err(|source| SpoolError::Corrupt {
                    path: self.path.clone(),
                    line: index + 1,
                    source,
                })
            })
            .collect()
    }

    /// Appends `settlements` and syncs them to disk.
    pub async fn append<'a>(
        &self,
        settlements: impl Iterator<Item = &'a Settlement>,
    ) -> Result<(), SpoolError> {
        let mut text = String::new();
        for settlement in settlements {
            // A settlement is plain data: it always serializes.
            if let Ok(line) = serde_json::to_string(settlement) {
                text.push_str(&line);
                text.push('\n');
            }
        }
        if text.is_empty() {
            return Ok(());
        }
        let mut file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .await
            .map_err(|error| self.io(error))?;
        file.write_all(text.as_bytes())
            .await
            .map_err(|error| self.io(error))?;
        file.sync_data().await.map_err(|error| self.io(error))
    }

    /// Empties it: everything it held is stored.
    pub async fn clear(&self) -> Result<(), SpoolError> {
        match tokio::fs::remove_file(&self.path).await {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(self.io(error)),
            _ => Ok(()),
        }
    }
}
