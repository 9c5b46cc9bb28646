//! The errors of accounting's storage: what a store operation, and the cipher of accounts' own
//! keys (BYOK) a store operation opens them with, can fail with. Only std and external crates
//! here: every layer above may name these errors.

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused or could not be reached.
    #[error("accounting database: {0}")]
    Database(#[from] sqlx::Error),
    /// Redis (rate limits) could not be reached at start-up.
    #[error("rate limit store (Redis): {0}")]
    Redis(#[source] redis::RedisError),
    /// The gateway is stopping: nothing commits any more.
    #[error("the accounting writer has stopped")]
    Stopped,
    /// A change of a lease ended before it finished (its task failed).
    #[error("a lease change was interrupted: {0}")]
    Interrupted(String),
    /// A stored value is not what this version writes.
    #[error("accounting database holds an invalid {0}")]
    Corrupt(&'static str),
    /// The key or account named does not exist.
    #[error("no such {0}")]
    NotFound(&'static str),
    /// The operator key of accounts' own keys (BYOK) is malformed.
    #[error("bring-your-own-key: {0}")]
    Byok(#[from] CipherError),
    /// Some settlements of a batch were stored by an earlier try: settle them one by one.
    #[error("some settlements of the batch were committed before")]
    PartlyStored,
    /// Settlements wait for the database to store them: `.0` of them (kept queued and in the
    /// spool until stored).
    #[error("{0} settlements wait for the accounting database")]
    Backlog(usize),
}

/// Why the operator keys cannot be read (stops the start) or a key cannot be opened.
#[derive(Debug, thiserror::Error)]
pub enum CipherError {
    /// The variable is not a list of `id:base64` 32-byte keys.
    #[error("{variable}: {problem}")]
    Malformed {
        /// The variable.
        variable: String,
        /// What is wrong (never the key).
        problem: String,
    },
    /// The key id a stored key was sealed under is not listed any more.
    #[error("stored key was encrypted under operator key {0:?}, which is not configured")]
    UnknownKey(String),
    /// The ciphertext does not open (tampered, or moved to another row).
    #[error("stored key does not decrypt")]
    Corrupt,
}
