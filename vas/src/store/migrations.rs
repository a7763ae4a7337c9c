//! The schema migrations of both backends, embedded in the binary.
//!
//! Built with sqlx's documented `Migrator::with_migrations` rather than its `migrate!` macro:
//! the macro needs sqlx's `macros` feature, which compiles a second copy of sqlx-core and both
//! drivers (and tokio) for the build host before this crate can start compiling — about a
//! minute and a half of every cold build on two cores. The migrations are the same: version
//! and description from the file name (`0001_init.sql` → 1, "init"), sqlx's checksum of the
//! text (so databases migrated by earlier versions stay valid), `-- no-transaction` honoured.
//! A test checks each list against the folder, as the macro would read it.

use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};

/// One migration file: its name and its SQL.
type File = (&'static str, &'static str);

macro_rules! files {
    ($dir:literal: $($name:literal),+ $(,)?) => {
        &[$(($name, include_str!(concat!("../../migrations/", $dir, "/", $name)))),+]
    };
}

/// The SQLite migrations (`vas/migrations/sqlite`).
const SQLITE: &[File] = files!("sqlite":
    "0001_init.sql",
    "0002_recordings_start.sql",
    "0003_device_rtsp_transport.sql",
    "0004_snapshot_label.sql",
    "0005_bookmark_detail.sql",
);

/// The PostgreSQL migrations (`vas/migrations/postgres`).
const POSTGRES: &[File] = files!("postgres":
    "0001_init.sql",
    "0002_recordings_start.sql",
    "0003_device_rtsp_transport.sql",
    "0004_snapshot_label.sql",
    "0005_bookmark_detail.sql",
);

/// The migrator for SQLite databases.
pub(super) fn sqlite() -> Migrator {
    migrator(SQLITE)
}

/// The migrator for PostgreSQL databases.
pub(super) fn postgres() -> Migrator {
    migrator(POSTGRES)
}

fn migrator(files: &'static [File]) -> Migrator {
    Migrator::with_migrations(
        files
            .iter()
            .map(|&(name, sql)| migration(name, sql))
            .collect(),
    )
}

fn migration(name: &'static str, sql: &'static str) -> Migration {
    // The names are the constants above, checked by the tests: `<version>_<words>.sql`.
    let (version, rest) = name.split_once('_').unwrap_or(("0", name));
    let version = version.parse().unwrap_or(0);
    let description = rest.trim_end_matches(".sql").replace('_', " ");
    let no_tx = sql.starts_with("-- no-transaction");
    Migration::new(
        version,
        description.into(),
        MigrationType::Simple,
        sql.into_sql_str(),
        no_tx,
    )
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    /// What sqlx's `migrate!` would have embedded from the folder, for comparison.
    fn from_folder(dir: &str) -> Vec<(i64, String, Vec<u8>, bool)> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("migrations")
            .join(dir);
        sqlx::migrate::resolve_blocking(&path)
            .expect("migration folder")
            .into_iter()
            .map(|(m, _)| {
                (
                    m.version,
                    m.description.into_owned(),
                    m.checksum.into_owned(),
                    m.no_tx,
                )
            })
            .collect()
    }

    fn embedded(m: &Migrator) -> Vec<(i64, String, Vec<u8>, bool)> {
        m.iter()
            .map(|m| {
                (
                    m.version,
                    m.description.to_string(),
                    m.checksum.to_vec(),
                    m.no_tx,
                )
            })
            .collect()
    }

    #[test]
    fn embedded_migrations_are_the_folders_as_sqlx_reads_them() {
        for (dir, migrator) in [("sqlite", sqlite()), ("postgres", postgres())] {
            let expected = from_folder(dir);
            assert!(!expected.is_empty(), "{dir} has migrations");
            assert_eq!(
                embedded(&migrator),
                expected,
                "{dir}: a file was added, removed or renamed"
            );
        }
    }

    #[test]
    fn versions_are_increasing_and_named_by_their_file() {
        for files in [SQLITE, POSTGRES] {
            let versions: Vec<i64> = files.iter().map(|(n, s)| migration(n, s).version).collect();
            assert!(versions.windows(2).all(|w| w[0] < w[1]), "{versions:?}");
            assert!(versions.iter().all(|&v| v > 0), "{versions:?}");
        }
    }
}
