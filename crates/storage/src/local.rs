//! [`LocalStore`]: objects as files under a directory, written atomically and durably.

use crate::{Error, Key, MAX_OBJECT_BYTES, ObjectStore, Result, check_size};
use std::{
    fs::{self, File, OpenOptions},
    io::{ErrorKind, Read, Write},
    path::{Path, PathBuf},
};

/// A directory of objects: key `a/b` is the file `ROOT/a/b`.
#[derive(Clone, Debug)]
pub struct LocalStore {
    root: PathBuf,
}

impl LocalStore {
    /// Opens (creating if needed) the store rooted at `root`.
    pub fn open(root: impl AsRef<Path>) -> Result<Self> {
        let root = root.as_ref().to_path_buf();
        fs::create_dir_all(&root)
            .map_err(|e| Error::Config(format!("cannot create {}: {e}", root.display())))?;
        Ok(Self { root })
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file that holds `key`.
    pub fn path_of(&self, key: &Key) -> PathBuf {
        self.root.join(key.as_str())
    }

    fn io(&self, op: &'static str, key: &Key, e: impl std::fmt::Display) -> Error {
        Error::Io {
            store: self.describe(),
            op,
            key: key.to_string(),
            reason: e.to_string(),
        }
    }

    fn put_blocking(&self, key: &Key, bytes: &[u8]) -> Result<()> {
        let path = self.path_of(key);
        let dir = path.parent().unwrap_or(&self.root).to_path_buf();
        fs::create_dir_all(&dir).map_err(|e| self.io("put", key, e))?;
        let tmp = dir.join(format!(".tmp-{:016x}", rand::random::<u64>()));
        let written = (|| -> std::io::Result<()> {
            let mut file = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
            file.write_all(bytes)?;
            file.sync_all()?;
            fs::rename(&tmp, &path)?;
            // Make the rename itself durable.
            File::open(&dir)?.sync_all()
        })();
        if let Err(e) = written {
            let _ = fs::remove_file(&tmp);
            return Err(self.io("put", key, e));
        }
        Ok(())
    }

    fn get_blocking(&self, key: &Key) -> Result<Vec<u8>> {
        let path = self.path_of(key);
        let mut file = File::open(&path).map_err(|e| match e.kind() {
            ErrorKind::NotFound => Error::NotFound {
                key: key.to_string(),
                store: self.describe(),
            },
            _ => self.io("get", key, e),
        })?;
        let len = file.metadata().map_err(|e| self.io("get", key, e))?.len();
        check_size(key, len)?;
        let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
        // Read at most the limit even if the file grows meanwhile.
        Read::by_ref(&mut file)
            .take(MAX_OBJECT_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| self.io("get", key, e))?;
        check_size(key, bytes.len() as u64)?;
        Ok(bytes)
    }
}

#[async_trait::async_trait]
impl ObjectStore for LocalStore {
    async fn put(&self, key: &Key, bytes: Vec<u8>) -> Result<()> {
        check_size(key, bytes.len() as u64)?;
        let (this, key) = (self.clone(), key.clone());
        tokio::task::spawn_blocking(move || this.put_blocking(&key, &bytes))
            .await
            .map_err(|e| Error::Config(format!("storage task failed: {e}")))?
    }

    async fn get(&self, key: &Key) -> Result<Vec<u8>> {
        let (this, key) = (self.clone(), key.clone());
        tokio::task::spawn_blocking(move || this.get_blocking(&key))
            .await
            .map_err(|e| Error::Config(format!("storage task failed: {e}")))?
    }

    fn describe(&self) -> String {
        format!("dir {}", self.root.display())
    }
}
