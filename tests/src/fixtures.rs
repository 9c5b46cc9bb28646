//! Loading of recorded provider responses from the fixtures folder (see `fixtures/README.md`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use bytes::Bytes;

/// What to replay for one request.
#[derive(Debug, Clone)]
pub enum Replay {
    /// `<name>.json`: one whole non-streaming response body.
    Json(Bytes),
    /// `<name>.chunks.txt`: one event payload per line (no `data:` prefix, no `[DONE]`).
    Lines(Vec<String>),
    /// `<name>.txt`: raw SSE as sent by the provider, to be replayed byte for byte.
    Raw(Bytes),
}

/// A fixtures folder with an in-memory cache of the files read so far.
#[derive(Debug)]
pub struct Fixtures {
    dir: PathBuf,
    cache: Mutex<HashMap<PathBuf, Bytes>>,
}

impl Fixtures {
    /// Fixtures read from `dir` (the folder holding `openai/`, `anthropic/`, ...).
    pub fn new(dir: PathBuf) -> Fixtures {
        Fixtures {
            dir,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The folder fixtures are read from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Loads fixture `name` (`<dir>/<name>`, no extension) for a streamed or a whole answer.
    ///
    /// Streams prefer `<name>.txt` (raw SSE) over `<name>.chunks.txt`; whole answers use
    /// `<name>.json`. The error message lists the files that were tried.
    pub async fn load(&self, name: &str, stream: bool) -> Result<Replay, String> {
        let candidates: &[&str] = if stream {
            &["txt", "chunks.txt"]
        } else {
            &["json"]
        };
        let mut tried = Vec::new();
        for ext in candidates {
            let path = self.dir.join(format!("{name}.{ext}"));
            match self.read(&path).await {
                Ok(Some(bytes)) => {
                    return Ok(match *ext {
                        "txt" => Replay::Raw(bytes),
                        "json" => Replay::Json(bytes),
                        _ => Replay::Lines(split_lines(&bytes)?),
                    });
                }
                Ok(None) => tried.push(path.display().to_string()),
                Err(e) => {
                    return Err(format!(
                        "mock upstream: cannot read {}: {e}",
                        path.display()
                    ));
                }
            }
        }
        Err(format!(
            "mock upstream: unknown fixture `{name}` for a {} request: none of [{}] exists",
            if stream { "streaming" } else { "non-streaming" },
            tried.join(", ")
        ))
    }

    async fn read(&self, path: &Path) -> std::io::Result<Option<Bytes>> {
        if let Some(b) = self.cache_lock().get(path) {
            return Ok(Some(b.clone()));
        }
        match tokio::fs::read(path).await {
            Ok(v) => {
                let b = Bytes::from(v);
                self.cache_lock().insert(path.to_path_buf(), b.clone());
                Ok(Some(b))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn cache_lock(&self) -> std::sync::MutexGuard<'_, HashMap<PathBuf, Bytes>> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn split_lines(bytes: &[u8]) -> Result<Vec<String>, String> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| format!("mock upstream: fixture is not UTF-8: {e}"))?;
    Ok(text
        .lines()
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect())
}
