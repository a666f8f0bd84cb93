//! The token database's change log: every object row carries the generation that last
//! wrote it (`objects.changed`) and removed rows leave their id in `removed`, both kept by
//! triggers, so every writer (any pqhsm, any statement) is tracked. A process that loaded
//! the objects at generation g reads only what changed after g instead of every row.
//! Never decides anything about objects; it only answers "what changed since g".

use super::codec::decode_attrs;
use super::db::TxError;
use super::schema::damaged;
use super::sqlite::tampered;
use super::{ObjectId, StoredObject};
use rusqlite::{params, Connection};

/// How many generations `removed` remembers; a reader further behind reloads everything.
pub(crate) const HORIZON: u64 = 1_000_000;

/// Created where missing (within schema version 1): the triggers and table are additive
/// and a store without them is simply read in full by older readers. `removed` forgets
/// rows older than `HORIZON` generations.
fn change_log() -> String {
    format!(
        "
CREATE TABLE IF NOT EXISTS removed (
    id         INTEGER PRIMARY KEY,
    generation INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS removed_by_generation ON removed (generation);
CREATE INDEX IF NOT EXISTS objects_by_changed ON objects (changed);
CREATE TRIGGER IF NOT EXISTS objects_inserted AFTER INSERT ON objects BEGIN
    UPDATE objects SET changed = (SELECT generation FROM meta) + 1 WHERE id = NEW.id;
END;
CREATE TRIGGER IF NOT EXISTS objects_updated AFTER UPDATE ON objects
    WHEN NEW.changed IS OLD.changed BEGIN
    UPDATE objects SET changed = (SELECT generation FROM meta) + 1 WHERE id = NEW.id;
END;
CREATE TRIGGER IF NOT EXISTS objects_deleted AFTER DELETE ON objects BEGIN
    INSERT OR REPLACE INTO removed (id, generation)
        VALUES (OLD.id, (SELECT generation FROM meta) + 1);
    DELETE FROM removed WHERE generation < (SELECT generation FROM meta) - {HORIZON};
END;
"
    )
}

/// Add the change log to a store that lacks it. Rows that predate it keep `changed = 0`:
/// every reader loads them in its first, full, read.
pub(crate) fn ensure(c: &Connection) -> Result<(), TxError> {
    let has_column: i64 = c.query_row(
        "SELECT count(*) FROM pragma_table_info('objects') WHERE name = 'changed'",
        [],
        |r| r.get(0),
    )?;
    if has_column == 0 {
        c.execute_batch("ALTER TABLE objects ADD COLUMN changed INTEGER NOT NULL DEFAULT 0")?;
    }
    c.execute_batch(&change_log())?;
    Ok(())
}

/// What changed after a generation, read in one snapshot.
#[derive(Debug)]
pub struct Changes {
    /// The generation of the snapshot the changes were read in.
    pub generation: u64,
    /// Objects written after the generation asked about (public attributes, no unsealing).
    pub changed: Vec<StoredObject>,
    /// Objects removed after it.
    pub removed: Vec<ObjectId>,
}

fn sql(n: u64) -> i64 {
    // Generations are compared, never computed with: reinterpreting the sign bit is harmless.
    n as i64
}

/// The changes after `since`, or None when the log cannot tell (the reader is further
/// behind than `HORIZON`, or ahead of the store, which a re-created file would cause).
pub(crate) fn since(c: &Connection, since: u64) -> Result<Option<Changes>, TxError> {
    let gen: i64 = c.query_row("SELECT generation FROM meta", [], |r| r.get(0))?;
    let gen = gen as u64;
    if since > gen || gen - since > HORIZON {
        return Ok(None);
    }
    let mut stmt =
        c.prepare_cached("SELECT id, public, sealed IS NOT NULL FROM objects WHERE changed > ?1")?;
    let mut rows = stmt.query(params![sql(since)])?;
    let mut changed = Vec::new();
    while let Some(r) = rows.next()? {
        let id: i64 = r.get(0)?;
        let id = ObjectId::try_from(id).map_err(|_| damaged("negative object id"))?;
        let public: Vec<u8> = r.get(1)?;
        let public = decode_attrs(&public).map_err(|_| tampered(id))?;
        changed.push(StoredObject {
            id,
            public,
            has_secret: r.get(2)?,
        });
    }
    let mut stmt = c.prepare_cached("SELECT id FROM removed WHERE generation > ?1")?;
    let removed = stmt
        .query_map(params![sql(since)], |r| r.get::<_, i64>(0))?
        .map(|id| {
            let id = id?;
            ObjectId::try_from(id).map_err(|_| TxError::from(damaged("negative object id")))
        })
        .collect::<Result<Vec<_>, TxError>>()?;
    Ok(Some(Changes {
        generation: gen,
        changed,
        removed,
    }))
}

#[cfg(test)]
mod tests {
    use super::super::{ObjectId, SqliteStore, Store, StoreOptions};
    use super::HORIZON;
    use crate::attr::Attr;
    use cryptoki_sys as ck;
    use std::collections::BTreeSet;

    fn data(label: &[u8]) -> Vec<Attr> {
        vec![
            Attr::ulong(ck::CKA_CLASS, ck::CKO_DATA),
            Attr::bool(ck::CKA_TOKEN, true),
            Attr::new(ck::CKA_LABEL, label.to_vec()),
        ]
    }

    #[test]
    fn a_reader_gets_exactly_what_other_writers_changed_since_its_generation() {
        let dir = tempfile::tempdir().unwrap();
        let writer = SqliteStore::open(dir.path(), StoreOptions::default()).unwrap();
        let reader = SqliteStore::open(dir.path(), StoreOptions::default()).unwrap();
        let ids: Vec<ObjectId> = [b"a", b"b", b"c"]
            .iter()
            .map(|l| writer.insert(None, &data(*l), &[]).unwrap())
            .collect();
        let g = reader.generation().unwrap();
        let none = reader.changes_since(g).unwrap().unwrap();
        assert_eq!(none.generation, g);
        assert!(none.changed.is_empty() && none.removed.is_empty());

        writer.update(None, ids[1], &data(b"b2")).unwrap();
        writer.delete(ids[2]).unwrap();
        let d = writer.insert(None, &data(b"d"), &[]).unwrap();
        let ch = reader.changes_since(g).unwrap().unwrap();
        assert_eq!(ch.generation, reader.generation().unwrap());
        let changed: BTreeSet<ObjectId> = ch.changed.iter().map(|o| o.id).collect();
        assert_eq!(changed, BTreeSet::from([ids[1], d]));
        assert_eq!(ch.removed, vec![ids[2]]);
        let b = ch.changed.iter().find(|o| o.id == ids[1]).unwrap();
        assert!(b
            .public
            .iter()
            .any(|a| a.ty == ck::CKA_LABEL && a.value.as_slice() == b"b2"));
        // From the newest generation nothing changed; from the first one, everything.
        let now = reader.changes_since(ch.generation).unwrap().unwrap();
        assert!(now.changed.is_empty() && now.removed.is_empty());
        let all = reader.changes_since(0).unwrap().unwrap();
        assert_eq!(all.changed.len(), 3);
    }

    #[test]
    fn readers_the_log_cannot_serve_read_everything() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path(), StoreOptions::default()).unwrap();
        store.insert(None, &data(b"a"), &[]).unwrap();
        let g = store.generation().unwrap();
        // Ahead of the store (a re-created file): cannot tell.
        assert!(store.changes_since(g + 1).unwrap().is_none());
        // Further behind than the log remembers: cannot tell.
        let file = dir.path().join(super::super::db::FILE_NAME);
        let c = rusqlite::Connection::open(file).unwrap();
        c.execute(
            "UPDATE meta SET generation = generation + ?1",
            [HORIZON as i64 + 1],
        )
        .unwrap();
        assert!(store.changes_since(g).unwrap().is_none());
        assert!(store.changes_since(g + 1).unwrap().is_some());
    }
}
