//! Signed chain heads exported outside the database. A chain inside one database only catches
//! edits whose author did not recompute the later hashes; a head signed with a key the database
//! never sees, kept in an append-only file (and the logs), also catches a deleted tail or a
//! chain rewritten from some point on.

use std::io::{BufRead as _, Write as _};
use std::path::{Path, PathBuf};

use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use serde::{Deserialize, Serialize};

/// One exported head, as written to the file (one JSON object per line).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportedHead {
    /// Last sequence of the chain when exported.
    pub sequence: i64,
    /// Its hash, hex.
    pub hash: String,
    /// When exported, Unix microseconds.
    pub at_micros: i64,
    /// Ed25519 signature over [`ExportedHead::message`], hex.
    pub signature: String,
}

impl ExportedHead {
    fn message(sequence: i64, hash: &str, at_micros: i64) -> Vec<u8> {
        format!("dps-audit-head/v1\n{sequence}\n{hash}\n{at_micros}").into_bytes()
    }
}

/// Why the exported heads cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum HeadError {
    /// The file could not be read or written.
    #[error("audit head file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A line is not a head we signed.
    #[error("audit head file {path}, line {line}: {problem}")]
    Invalid {
        /// The file.
        path: String,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        problem: String,
    },
}

/// Signs heads and appends them to a file.
pub struct HeadSink {
    key: SigningKey,
    path: Option<PathBuf>,
}

impl std::fmt::Debug for HeadSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HeadSink")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl HeadSink {
    /// Signs with `key`; appends to `path` when given (otherwise heads only reach the logs).
    pub fn new(key: SigningKey, path: Option<PathBuf>) -> Self {
        Self { key, path }
    }

    /// The key that verifies our heads.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    /// Signs the head and records it in the log and the file.
    pub fn export(
        &self,
        sequence: i64,
        hash: &[u8; 32],
        at_micros: i64,
    ) -> Result<ExportedHead, HeadError> {
        let hash = hex::encode(hash);
        let signature = self
            .key
            .sign(&ExportedHead::message(sequence, &hash, at_micros));
        let head = ExportedHead {
            sequence,
            hash,
            at_micros,
            signature: hex::encode(signature.to_bytes()),
        };
        let line = serde_json::to_string(&head).unwrap_or_default();
        tracing::info!(audit_head = %line, "audit chain head exported");
        if let Some(path) = &self.path {
            let io = |source| HeadError::Io {
                path: path.display().to_string(),
                source,
            };
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(io)?;
            writeln!(file, "{line}").map_err(io)?;
            file.sync_data().map_err(io)?;
        }
        Ok(head)
    }

    /// The furthest head exported by any gateway replica: every file beside ours with the same
    /// extension (each replica writes its own, e.g. `$(POD_NAME).jsonl` on a shared volume, and
    /// all sign with the same key). `None` without a file or heads. A line whose signature fails
    /// is an error: someone wrote to the files who should not.
    pub fn last_exported(&self) -> Result<Option<ExportedHead>, HeadError> {
        let Some(path) = &self.path else {
            return Ok(None);
        };
        let key = self.verifying_key();
        let mut files = vec![path.clone()];
        if let (Some(dir), Some(extension)) = (path.parent(), path.extension()) {
            let dir = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            };
            if let Ok(entries) = std::fs::read_dir(dir) {
                files.extend(
                    entries
                        .filter_map(Result::ok)
                        .map(|e| e.path())
                        .filter(|p| p != path && p.extension() == Some(extension)),
                );
            }
        }
        let mut furthest: Option<ExportedHead> = None;
        for file in files {
            if let Some(head) = last_in(&file, &key)?
                && furthest.as_ref().is_none_or(|f| head.sequence > f.sequence)
            {
                furthest = Some(head);
            }
        }
        Ok(furthest)
    }
}

fn last_in(path: &Path, key: &VerifyingKey) -> Result<Option<ExportedHead>, HeadError> {
    let shown = path.display().to_string();
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(HeadError::Io {
                path: shown,
                source,
            });
        }
    };
    let mut last = None;
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|source| HeadError::Io {
            path: shown.clone(),
            source,
        })?;
        if line.trim().is_empty() {
            continue;
        }
        let invalid = |problem: &str| HeadError::Invalid {
            path: shown.clone(),
            line: i + 1,
            problem: problem.to_owned(),
        };
        let head: ExportedHead =
            serde_json::from_str(&line).map_err(|_| invalid("not an exported head"))?;
        let signature = hex::decode(&head.signature)
            .ok()
            .and_then(|b| Signature::from_slice(&b).ok())
            .ok_or_else(|| invalid("malformed signature"))?;
        key.verify(
            &ExportedHead::message(head.sequence, &head.hash, head.at_micros),
            &signature,
        )
        .map_err(|_| invalid("signature does not verify with the gateway's audit key"))?;
        last = Some(head);
    }
    Ok(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_furthest_head_of_any_replica_counts() {
        let dir = std::env::temp_dir().join(format!("dps-heads-replicas-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        let key = SigningKey::from_bytes(&[8; 32]);
        let a = HeadSink::new(key.clone(), Some(dir.join("gateway-a.jsonl")));
        let b = HeadSink::new(key, Some(dir.join("gateway-b.jsonl")));
        a.export(5, &[1; 32], 1_000).expect("a");
        b.export(9, &[2; 32], 2_000).expect("b");
        a.export(7, &[3; 32], 3_000).expect("a again");
        std::fs::write(dir.join("notes.txt"), "not a head file").expect("other file");
        assert_eq!(
            a.last_exported().expect("read").map(|h| h.sequence),
            Some(9)
        );
        assert_eq!(
            b.last_exported().expect("read").map(|h| h.sequence),
            Some(9)
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn heads_round_trip_and_a_forged_line_is_refused() {
        let dir = std::env::temp_dir().join(format!("dps-heads-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("heads.jsonl");
        let _ = std::fs::remove_file(&path);
        let sink = HeadSink::new(SigningKey::from_bytes(&[7; 32]), Some(path.clone()));
        assert_eq!(sink.last_exported().expect("none yet"), None);
        sink.export(3, &[1; 32], 1_000).expect("first");
        let second = sink.export(9, &[2; 32], 2_000).expect("second");
        assert_eq!(sink.last_exported().expect("read"), Some(second.clone()));

        let forged = ExportedHead {
            sequence: 5,
            ..second
        };
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .expect("open");
        writeln!(file, "{}", serde_json::to_string(&forged).expect("json")).expect("write");
        assert!(matches!(
            sink.last_exported(),
            Err(HeadError::Invalid { line: 3, .. })
        ));
        let _ = std::fs::remove_dir_all(dir);
    }
}
