//! The database schema, as numbered migrations applied in order at start-up. The SQL is the
//! common subset of SQLite and PostgreSQL: amounts are BIGINT nano-USD, times BIGINT unix
//! seconds, flags BIGINT 0/1.

/// Each migration: its version and its statements.
pub const MIGRATIONS: &[(i64, &[&str])] = &[
    (
        1,
        &[
            "CREATE TABLE IF NOT EXISTS accounts (
            id TEXT PRIMARY KEY,
            credits BIGINT NOT NULL DEFAULT 0,
            usage BIGINT NOT NULL DEFAULT 0,
            reserved BIGINT NOT NULL DEFAULT 0,
            created_at BIGINT NOT NULL
        )",
            "CREATE TABLE IF NOT EXISTS api_keys (
            id TEXT PRIMARY KEY,
            hash TEXT NOT NULL UNIQUE,
            account_id TEXT NOT NULL REFERENCES accounts (id),
            label TEXT NOT NULL,
            usd_limit BIGINT,
            limit_reset TEXT,
            expires_at BIGINT,
            disabled BIGINT NOT NULL DEFAULT 0,
            usage BIGINT NOT NULL DEFAULT 0,
            window_usage BIGINT NOT NULL DEFAULT 0,
            window_start BIGINT NOT NULL DEFAULT 0,
            reserved BIGINT NOT NULL DEFAULT 0,
            created_at BIGINT NOT NULL
        )",
            "CREATE TABLE IF NOT EXISTS reservations (
            id TEXT PRIMARY KEY,
            key_id TEXT NOT NULL,
            account_id TEXT NOT NULL,
            amount BIGINT NOT NULL,
            created_at BIGINT NOT NULL
        )",
            "CREATE TABLE IF NOT EXISTS generations (
            id TEXT PRIMARY KEY,
            key_id TEXT NOT NULL,
            account_id TEXT NOT NULL,
            model TEXT NOT NULL,
            provider TEXT NOT NULL,
            prompt_tokens BIGINT NOT NULL,
            completion_tokens BIGINT NOT NULL,
            reasoning_tokens BIGINT NOT NULL,
            cached_tokens BIGINT NOT NULL,
            cache_write_tokens BIGINT NOT NULL,
            cost BIGINT NOT NULL,
            upstream_cost BIGINT NOT NULL,
            latency_ms BIGINT NOT NULL,
            generation_ms BIGINT NOT NULL,
            finish_reason TEXT,
            streamed BIGINT NOT NULL,
            cancelled BIGINT NOT NULL,
            attempts TEXT NOT NULL,
            created_at BIGINT NOT NULL
        )",
            "CREATE INDEX IF NOT EXISTS generations_by_key ON generations (key_id, created_at)",
        ],
    ),
    (
        2,
        &[
            "ALTER TABLE api_keys ADD COLUMN requests_per_minute BIGINT",
            "ALTER TABLE api_keys ADD COLUMN tokens_per_minute BIGINT",
        ],
    ),
    (3, &["ALTER TABLE api_keys ADD COLUMN routing_policy TEXT"]),
    (
        4,
        &[
            "ALTER TABLE generations ADD COLUMN usage_estimated BIGINT NOT NULL DEFAULT 0",
            "ALTER TABLE generations ADD COLUMN excess_cost BIGINT NOT NULL DEFAULT 0",
            "ALTER TABLE generations ADD COLUMN charge_note TEXT",
        ],
    ),
    (
        5,
        &[
            // Teams of an account; their budget is the budget row `team:<id>`.
            "CREATE TABLE IF NOT EXISTS teams (
            id TEXT PRIMARY KEY,
            account_id TEXT NOT NULL REFERENCES accounts (id),
            name TEXT NOT NULL,
            policy TEXT,
            requests_per_minute BIGINT,
            tokens_per_minute BIGINT,
            created_at BIGINT NOT NULL
        )",
            // Budgets of teams (`team:<id>`) and accounts (`account:<id>`), kept like a key's
            // limit: a window of spending, holds in flight.
            "CREATE TABLE IF NOT EXISTS budgets (
            id TEXT PRIMARY KEY,
            usd_limit BIGINT,
            limit_reset TEXT,
            usage BIGINT NOT NULL DEFAULT 0,
            window_usage BIGINT NOT NULL DEFAULT 0,
            window_start BIGINT NOT NULL DEFAULT 0,
            reserved BIGINT NOT NULL DEFAULT 0,
            created_at BIGINT NOT NULL
        )",
            "ALTER TABLE api_keys ADD COLUMN team_id TEXT",
            "ALTER TABLE api_keys ADD COLUMN policy TEXT",
            "ALTER TABLE accounts ADD COLUMN policy TEXT",
            "ALTER TABLE accounts ADD COLUMN requests_per_minute BIGINT",
            "ALTER TABLE accounts ADD COLUMN tokens_per_minute BIGINT",
            "ALTER TABLE reservations ADD COLUMN budgets TEXT NOT NULL DEFAULT ''",
            "ALTER TABLE generations ADD COLUMN team_id TEXT",
            "CREATE INDEX IF NOT EXISTS generations_by_team ON generations (team_id, created_at)",
            "CREATE INDEX IF NOT EXISTS generations_by_account ON generations (account_id, created_at)",
        ],
    ),
    (
        6,
        &[
            // Admin tokens: the SHA-256 of the secret, a role, an optional account scope; those
            // issued by single sign-on carry their subject and expire.
            "CREATE TABLE IF NOT EXISTS admin_tokens (
            id TEXT PRIMARY KEY,
            hash TEXT NOT NULL UNIQUE,
            role TEXT NOT NULL,
            account_id TEXT,
            label TEXT NOT NULL,
            subject TEXT,
            created_by TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            expires_at BIGINT
        )",
            // The audit log of admin changes; ids sort in the order entries were written.
            "CREATE TABLE IF NOT EXISTS audit_log (
            id TEXT PRIMARY KEY,
            at BIGINT NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            target TEXT NOT NULL,
            account_id TEXT,
            before_state TEXT,
            after_state TEXT
        )",
            "CREATE INDEX IF NOT EXISTS audit_log_by_time ON audit_log (at)",
        ],
    ),
    (
        7,
        &[
            // End users of an account; `budget_id` is their budget row when the account gives
            // them a budget. Budgets on models are budget rows (`model:key:<id>:<glob>`).
            "CREATE TABLE IF NOT EXISTS end_users (
            account_id TEXT NOT NULL,
            id TEXT NOT NULL,
            budget_id TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            PRIMARY KEY (account_id, id)
        )",
            "CREATE INDEX IF NOT EXISTS end_users_by_budget ON end_users (budget_id)",
            "ALTER TABLE accounts ADD COLUMN end_users BIGINT NOT NULL DEFAULT 0",
            "ALTER TABLE accounts ADD COLUMN max_end_users BIGINT",
            "ALTER TABLE accounts ADD COLUMN end_user_limit BIGINT",
            "ALTER TABLE accounts ADD COLUMN end_user_limit_reset TEXT",
            "ALTER TABLE accounts ADD COLUMN end_user_requests_per_minute BIGINT",
            "ALTER TABLE accounts ADD COLUMN end_user_tokens_per_minute BIGINT",
            "ALTER TABLE generations ADD COLUMN end_user TEXT",
            "CREATE INDEX IF NOT EXISTS generations_by_end_user ON generations (account_id, end_user, created_at)",
        ],
    ),
    (
        8,
        &[
            // Accounts' own provider keys (BYOK), sealed (see `credentials::byok`).
            "CREATE TABLE IF NOT EXISTS byok_keys (
            account_id TEXT NOT NULL REFERENCES accounts (id),
            provider TEXT NOT NULL,
            key_id TEXT NOT NULL,
            nonce TEXT NOT NULL,
            ciphertext TEXT NOT NULL,
            last_four TEXT NOT NULL,
            fallback BIGINT NOT NULL DEFAULT 0,
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL,
            PRIMARY KEY (account_id, provider)
        )",
            // A generation served on the account's own key (charged the BYOK fee).
            "ALTER TABLE generations ADD COLUMN byok BIGINT NOT NULL DEFAULT 0",
        ],
    ),
    (
        10,
        &["ALTER TABLE generations ADD COLUMN cache_hit BIGINT NOT NULL DEFAULT 0"],
    ),
];
