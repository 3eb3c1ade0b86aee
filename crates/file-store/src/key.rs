//! Blob keys of files and upload parts. Keys are built from ids only, never
//! from names a user supplied, and sharded on the random end of the id so
//! that no directory or key range grows without bound.

use uuid::Uuid;

/// Prefix of every file blob.
pub const FILES: &str = "files";
/// Prefix of every resumable-upload part.
pub const UPLOADS: &str = "uploads";

/// `files/<xx>/<yy>/<id>`, sharded on the last four hex digits of the id.
pub fn file(id: Uuid) -> String {
    let hex = id.simple().to_string();
    format!("{FILES}/{}/{}/{hex}", &hex[30..32], &hex[28..30])
}

/// The file id of a key made by [`file`].
pub fn file_id(key: &str) -> Option<Uuid> {
    let rest = key.strip_prefix(FILES)?.strip_prefix('/')?;
    let mut segments = rest.split('/');
    let (_, _, id, end) = (
        segments.next()?,
        segments.next()?,
        segments.next()?,
        segments.next(),
    );
    if end.is_some() {
        return None;
    }
    Uuid::try_parse(id).ok().filter(|id| file(*id) == key)
}

/// `uploads/<upload>/<offset>-<nonce>`: one appended piece of a resumable
/// upload. The nonce keeps two racing appends at one offset apart.
pub fn part(upload: Uuid, offset: u64, nonce: Uuid) -> String {
    format!("{UPLOADS}/{}/{offset:020}-{}", upload.simple(), nonce.simple())
}

/// The upload id of a key made by [`part`].
pub fn part_upload(key: &str) -> Option<Uuid> {
    let rest = key.strip_prefix(UPLOADS)?.strip_prefix('/')?;
    let (upload, _) = rest.split_once('/')?;
    Uuid::try_parse(upload).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip() {
        let id = Uuid::now_v7();
        let key = file(id);
        assert!(key.starts_with("files/"));
        assert_eq!(file_id(&key), Some(id));
        assert_eq!(file_id("files/aa/bb/not-a-uuid"), None);
        assert_eq!(file_id(&format!("files/00/00/{}", id.simple())), None);
        let part_key = part(id, 42, Uuid::now_v7());
        assert_eq!(part_upload(&part_key), Some(id));
        assert_eq!(part_upload("files/x"), None);
    }
}
